import { BlockList, isIP } from 'node:net';
import { SipEdgeConfigError } from './errors.js';
import { TokenBuckets } from './token-bucket.js';

export interface EarlyDropOptions {
  /** The edge's carrier check: carriers are never dropped here. */
  isCarrier(address: string): boolean;
  /** Balancers (IP or CIDR): their requests name the real source in a header, so they are judged after parsing only. */
  trusted?: readonly string[];
  /** The edge's per-source rate: a source past twice this rate (and twice its burst) is dropped here. */
  rate?: { perSecond: number; burst: number; maxSources?: number } | undefined;
  /**
   * Methods the edge refuses from a source that is not a carrier (INVITE when no digest users are
   * configured). Such a source gets its refusal answered `answersPerSecond` times a second at
   * most; the rest are dropped here. Default ['INVITE']; [] when digest users may call.
   */
  refusedMethods?: readonly string[];
  /** Default 1. */
  answersPerSecond?: number;
  now?: () => number;
}

export interface EarlyDropStats { droppedRate: number; droppedRefused: number }

const SPACE = 0x20;
const MAX_METHOD = 16;

/**
 * The edge's checks that need no parsing, run on a UDP datagram before the
 * SIP parser sees it: under a flood, the datagrams the edge would refuse
 * anyway cost a method sniff, a BlockList lookup and a token bucket instead
 * of a full parse, a 403/503 built and sent, and a log line — so the event
 * loop drains the socket faster and fewer datagrams (the carrier's among
 * them) are dropped by the kernel before anything of ours sees them.
 *
 * What it never drops: responses, anything from a carrier or a balancer, a
 * source within twice its rate. A refused source still hears why once a
 * second (403, or the edge filter's 503 with Retry-After) — the rest of its
 * burst goes unanswered, as Kamailio's pike does (an answer per request would
 * be amplification).
 */
export class EarlyDrop {
  readonly #o: EarlyDropOptions;
  readonly #trusted = new BlockList();
  readonly #rate: TokenBuckets | undefined;
  readonly #answers: TokenBuckets;
  readonly #refused: ReadonlySet<string>;
  readonly #counts: EarlyDropStats = { droppedRate: 0, droppedRefused: 0 };

  constructor(o: EarlyDropOptions) {
    this.#o = o;
    for (const t of o.trusted ?? []) {
      const [addr, bits] = t.split('/');
      const fam = isIP(addr ?? '');
      if (fam === 0) throw new SipEdgeConfigError(`trusted address "${t}" is not an IP address or CIDR`, { trusted: t });
      const type = fam === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.#trusted.addAddress(addr!, type);
      else this.#trusted.addSubnet(addr!, Number(bits), type);
    }
    const maxKeys = o.rate?.maxSources ?? 10_000;
    if (o.rate) this.#rate = new TokenBuckets(o.rate.perSecond * 2, o.rate.burst * 2, maxKeys, o.now);
    const answers = o.answersPerSecond ?? 1;
    if (!(answers > 0)) throw new SipEdgeConfigError('answersPerSecond must be > 0', { answersPerSecond: answers });
    this.#answers = new TokenBuckets(answers, Math.max(1, Math.ceil(answers)), maxKeys, o.now);
    this.#refused = new Set((o.refusedMethods ?? ['INVITE']).map((m) => m.toUpperCase()));
  }

  /** Pass as the UDP transport's `admit`: false drops the datagram unparsed and unanswered. */
  readonly admit = (source: { address: string }, datagram: Buffer): boolean => {
    // "SIP/2.0 …": a response to one of our requests; the transaction layer judges it.
    if (datagram.length >= 4 && datagram[0] === 0x53 && datagram[1] === 0x49 && datagram[2] === 0x50 && datagram[3] === 0x2f) return true;
    const address = source.address;
    if (this.#isTrusted(address) || this.#o.isCarrier(address)) return true;
    if (this.#rate && this.#rate.take(address) > 0) {
      this.#counts.droppedRate++;
      return false;
    }
    if (this.#refused.size > 0 && this.#refused.has(methodOf(datagram)) && this.#answers.take(address) > 0) {
      this.#counts.droppedRefused++;
      return false;
    }
    return true;
  };

  stats(): EarlyDropStats {
    return { ...this.#counts };
  }

  #isTrusted(address: string): boolean {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const a = mapped ? mapped[1]! : address;
    const fam = isIP(a);
    return fam !== 0 && this.#trusted.check(a, fam === 4 ? 'ipv4' : 'ipv6');
  }
}

/** The request line's method, upper-cased: the bytes before the first space (at most 16), else ''. */
export function methodOf(datagram: Buffer): string {
  const end = Math.min(datagram.length, MAX_METHOD + 1);
  for (let i = 0; i < end; i++) if (datagram[i] === SPACE) return datagram.toString('latin1', 0, i).toUpperCase();
  return '';
}
