import { BlockList, isIP } from 'node:net';
import type { DigestServer } from '../digest/index.js';
import { SipEdgeConfigError } from './errors.js';
import { TokenBuckets } from './token-bucket.js';

/** The parts of a request the edge looks at (sip/message's SipRequest fits). */
export interface EdgeRequest { method: string; header(name: string): string | undefined }
export interface EdgeSource { address: string; port: number }
/** Same shape as the UA's Refusal. */
export interface EdgeRefusal { status: number; reason?: string; headers?: Record<string, string> }
/** pino-compatible. */
export interface EdgeLogger { warn(obj: Record<string, unknown>, msg: string): void }

export interface EdgeOptions {
  /** Carrier addresses or CIDRs, IPv4 or IPv6: "203.0.113.7", "198.51.100.0/24", "2001:db8::/32". */
  carriers: readonly string[];
  /** Digest users allowed to place calls (browser, softphone); absent ⇒ carriers only. */
  digest?: DigestServer;
  /** Methods that need a carrier source or a digest user. Default INVITE. */
  guardedMethods?: readonly string[];
  rate?: { perSecond: number; burst: number; maxSources?: number };
  logger: EdgeLogger;
  now?: () => number;
}

export interface EdgeStats { refusedForbidden: number; refusedRate: number; challenged: number; sourcesTracked: number }

/** Builds the UA's `inboundFilter(request, source)`: undefined accepts the request. */
export class EdgeFilter {
  private readonly allow = new BlockList();
  private readonly guarded: ReadonlySet<string>;
  private readonly buckets: TokenBuckets | undefined;
  private readonly counts = { refusedForbidden: 0, refusedRate: 0, challenged: 0 };

  constructor(private readonly o: EdgeOptions) {
    for (const c of o.carriers) {
      const [addr, bits] = c.split('/');
      const fam = isIP(addr ?? '');
      if (fam === 0) throw new SipEdgeConfigError(`carrier address "${c}" is not an IP address or CIDR`, { carrier: c });
      const type = fam === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) { this.allow.addAddress(addr!, type); continue; }
      const n = Number(bits);
      if (!Number.isInteger(n) || n < 0 || n > (fam === 4 ? 32 : 128)) throw new SipEdgeConfigError(`carrier CIDR "${c}" has a bad prefix length`, { carrier: c });
      this.allow.addSubnet(addr!, n, type);
    }
    this.guarded = new Set((o.guardedMethods ?? ['INVITE']).map((m) => m.toUpperCase()));
    if (o.rate) {
      if (!(o.rate.perSecond > 0) || !(o.rate.burst >= 1)) throw new SipEdgeConfigError('rate needs perSecond > 0 and burst >= 1', { rate: o.rate });
      this.buckets = new TokenBuckets(o.rate.perSecond, o.rate.burst, o.rate.maxSources ?? 10_000, o.now);
    }
  }

  /** Pass as `inboundFilter: edge.filter`. */
  readonly filter = (req: EdgeRequest, source: EdgeSource): EdgeRefusal | undefined => {
    if (this.buckets) {
      const wait = this.buckets.take(source.address);
      if (wait > 0) {
        this.counts.refusedRate++;
        // RFC 3261 §21.5.4: 503 "MAY indicate when the client should retry the request in a Retry-After header".
        return { status: 503, reason: 'Service Unavailable', headers: { 'Retry-After': String(wait) } };
      }
    }
    if (!this.guarded.has(req.method.toUpperCase())) return undefined;
    if (this.isCarrier(source.address)) return undefined;
    const digest = this.o.digest;
    if (digest) {
      const cred = req.header('Proxy-Authorization') ?? req.header('Authorization');
      if (cred === undefined) { this.counts.challenged++; return { status: 407, reason: 'Proxy Authentication Required', headers: { 'Proxy-Authenticate': digest.challenge() } }; }
      const v = digest.verify(cred, req.method);
      if (v.ok) return undefined;
      if (v.stale) { this.counts.challenged++; return { status: 407, reason: 'Proxy Authentication Required', headers: { 'Proxy-Authenticate': digest.challenge(true) } }; }
      this.counts.refusedForbidden++;
      this.o.logger.warn({ source: `${source.address}:${source.port}`, method: req.method, reason: v.reason }, 'edge: refused request with bad credentials');
      return { status: 403, reason: 'Forbidden' };
    }
    this.counts.refusedForbidden++;
    this.o.logger.warn({ source: `${source.address}:${source.port}`, method: req.method }, 'edge: refused request from an address that is not a configured carrier');
    return { status: 403, reason: 'Forbidden' };
  };

  isCarrier(address: string): boolean {
    const fam = isIP(address);
    if (fam === 0) return false;
    // IPv4-mapped IPv6 sources (dual-stack sockets) are checked as IPv4.
    const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (m) return this.allow.check(m[1]!, 'ipv4');
    return this.allow.check(address, fam === 4 ? 'ipv4' : 'ipv6');
  }

  stats(): EdgeStats { return { ...this.counts, sourcesTracked: this.buckets?.size ?? 0 }; }
}
