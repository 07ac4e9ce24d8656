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
