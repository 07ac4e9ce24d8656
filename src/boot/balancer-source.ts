import { BlockList, isIP } from 'node:net';

/** The header the balancer (config/kamailio/dispatcher.cfg) sets to the address a request came from. */
export const SOURCE_HEADER = 'X-Warmline-Source';

interface Request { header(name: string): string | undefined }
interface Source { address: string; port: number }

function addressList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const [addr, bits] = e.split('/');
    const fam = isIP(addr ?? '');
    // The config schema has checked every entry already (WL_ERR_CONFIG_INVALID); this is a caller's bug.
    if (fam === 0) throw new TypeError(`balancer "${e}" is not an IP address or CIDR`);
    const type = fam === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(addr!, type);
    else list.addSubnet(addr!, Number(bits), type);
  }
  return list;
}

function inList(list: BlockList, address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const a = mapped ? mapped[1]! : address;
  const fam = isIP(a);
  return fam !== 0 && list.check(a, fam === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The source the edge filter should judge: for a request that arrived from one of `balancers`,
 * the address the balancer says it came from (its X-Warmline-Source header); for any other
 * request, the socket's own source — a header from anyone else is ignored, so a caller cannot
 * claim a carrier's address by writing it. A balancer's request without a usable header is judged
 * as the balancer's own address (which should not be a carrier: then it is refused).
 */
export function realSource<S extends Source>(req: Request, source: S, balancers: BlockList): S {
  if (!inList(balancers, source.address)) return source;
  const claimed = req.header(SOURCE_HEADER)?.trim();
  if (!claimed || isIP(claimed) === 0) return source;
  return { ...source, address: claimed, port: 0 };
}

/**
 * Wraps the edge filter so its carrier check and per-source rate limit apply to the real source
 * behind the balancer. With no balancer configured the filter is returned as it is.
 */
export function behindBalancers<R extends Request, S extends Source, T>(filter: (req: R, source: S) => T, balancers: readonly string[]): (req: R, source: S) => T {
  if (balancers.length === 0) return filter;
  const list = addressList(balancers);
  return (req, source) => filter(req, realSource(req, source, list));
}
