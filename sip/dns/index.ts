export { resolveSipTargets, orderSrv, withFailover, type DnsLookups, type SipTarget, type SipDestination, type SipTransportName } from './resolve.js';
export { SipDnsError } from './errors.js';
