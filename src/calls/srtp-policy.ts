import { BlockList, isIP } from 'node:net';
import type { SrtpOptions } from '../../media/index.js';
import type { MediaConfig } from '../config/index.js';

/**
 * Which SRTP policy an inbound call gets: the first `media.srtp.trunks` entry whose source
 * (address or CIDR) holds the INVITE's source address, else `media.srtp.policy`. The lists are
 * built once per configuration, not per call.
 */
export class SrtpPolicies {
  readonly #default: SrtpOptions;
  readonly #trunks: Array<{ match: BlockList; options: SrtpOptions }>;

  constructor(c: MediaConfig['srtp']) {
    this.#default = { policy: c.policy, suites: c.suites };
    this.#trunks = c.trunks.map((t) => {
      const match = new BlockList();
      const [addr, bits] = t.source.split('/') as [string, string | undefined];
      const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) match.addAddress(addr, type);
      else match.addSubnet(addr, Number(bits), type);
      return { match, options: { policy: t.policy, suites: c.suites } };
    });
  }

  for(source: string): SrtpOptions {
    // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
    const addr = source.startsWith('::ffff:') && isIP(source.slice(7)) === 4 ? source.slice(7) : source;
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    for (const t of this.#trunks) if (t.match.check(addr, type)) return t.options;
    return this.#default;
  }
}
