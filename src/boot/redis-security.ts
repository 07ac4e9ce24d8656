import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { WarmlineConfig } from '../config/index.js';
import { ConfigFileError } from '../config/errors.js';

/** The lease store's AUTH password and TLS options from leases.redisPassword / redisTlsCaFile. */
export function redisSecurity(leases: WarmlineConfig['leases']): { password?: string; tls?: ConnectionOptions } {
  const out: { password?: string; tls?: ConnectionOptions } = {};
  if (leases.redisPassword !== '') out.password = leases.redisPassword;
  if (leases.redisTlsCaFile !== '') {
    try {
      out.tls = { ca: readFileSync(leases.redisTlsCaFile, 'utf8') };
    } catch (err) {
      throw new ConfigFileError({ path: leases.redisTlsCaFile, reason: `leases.redisTlsCaFile cannot be read: ${(err as Error).message}` }, { cause: err });
    }
  }
  return out;
}
