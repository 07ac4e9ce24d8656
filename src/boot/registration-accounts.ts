import type { SipTransportName } from '../../sip/dns/index.js';
import type { CarrierAccount } from '../../sip/registration/index.js';
import type { WarmlineConfig } from '../config/index.js';

type RegistrationConfig = WarmlineConfig['registrations'][number];
import { pem } from './sip-transports.js';

/**
 * The configured registrations as the SIP registration pool takes them: a TLS registration's
 * CA bundle and client certificate read from their files now, so a missing file stops the start
 * (SipCertificateError naming the key) instead of failing every REGISTER later.
 */
export function carrierAccounts(registrations: readonly RegistrationConfig[]): CarrierAccount[] {
  return registrations.map((r, i) => {
    const { tls, ...account } = r;
    if (!tls) return account;
    const key = (k: string) => `registrations[${i}].tls.${k}`;
    return {
      ...account,
      tls: {
        ...(tls.serverName !== undefined && { serverName: tls.serverName }),
        ...(tls.caFile !== undefined && { ca: pem(key('caFile'), tls.caFile) }),
        ...(tls.certFile !== undefined && { cert: pem(key('certFile'), tls.certFile) }),
        ...(tls.keyFile !== undefined && { key: pem(key('keyFile'), tls.keyFile) }),
      },
    };
  });
}

/**
 * The Contact each registration registers, by its transport: ours (`ua.contactFor`: the
 * advertised host, that transport's port, `;transport=tls` for TLS), or with `registerHost` the
 * balancer's host at `registerPort` (else our port for that transport), keeping the transport.
 */
export function registeredContact(ua: { readonly contact: string; contactFor(t: SipTransportName): string }, registerHost: string, registerPort: number): (t: SipTransportName | undefined) => string {
  return (t) => {
    const own = t ? ua.contactFor(t) : ua.contact;
    if (!registerHost) return own;
    const [, ownPort, params] = /:(\d+)((?:;.*)?)$/.exec(own) ?? [];
    return `sip:${registerHost.includes(':') ? `[${registerHost}]` : registerHost}:${registerPort || Number(ownPort ?? 5060)}${params ?? ''}`;
  };
}
