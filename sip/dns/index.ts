export { resolveSipTargets, orderSrv, withFailover, type DnsLookups, type SipTarget, type SipDestination, type SipTransportName } from './resolve.js';
export { CachingDns, type CachingDnsOptions } from './cache.js';
export { parseDnsServer, type DnsServer, type DnsAnswer } from './wire.js';
export { SipDnsError } from './errors.js';
