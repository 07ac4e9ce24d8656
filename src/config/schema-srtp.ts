import { isIP } from 'node:net';
import { z } from 'zod';

const suite = z.enum(['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']);
const policy = z.enum(['required', 'offered', 'off']);
// An address or CIDR, as sip.carriers takes them.
const source = z.string().refine((s) => {
  const [addr, bits] = s.split('/');
  const fam = isIP(addr ?? '');
  return fam !== 0 && (bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (fam === 4 ? 32 : 128)));
}, 'an IP address or CIDR');

/**
 * `media.srtp`: SDES-SRTP on carrier legs (docs/trunks.md, "SRTP"). `policy` applies to every
 * call; the first `trunks` entry whose `source` holds the INVITE's source address overrides it.
 */
export const srtpSchema = z.strictObject({
  policy,
  suites: z.array(suite).min(1).refine((s) => new Set(s).size === s.length, 'each suite once'),
  trunks: z.array(z.strictObject({ source, policy })),
});

export type SrtpConfig = z.infer<typeof srtpSchema>;
