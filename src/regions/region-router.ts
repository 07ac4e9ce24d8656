import type { RoutingConfig } from '../config/index.js';

/** What the router needs to know of one region, now: read from its pools, no I/O. */
export interface RegionHealth {
  /** The region can serve this call now: none of its pools for the call's keys is dead. */
  alive: boolean;
  /** Why not, when it is not (e.g. `asr: 0/2 warm, last error: connect ECONNREFUSED`). */
  why?: string;
}

export type RegionChoice =
  | { ok: true; region: string; rule: RoutingConfig['rule']; failedOverFrom?: string }
  | { ok: false; rule: RoutingConfig['rule']; tried: string[]; why: string };

export interface RegionRouterOptions {
  /** This replica's region. */
  home: string;
  /** Every configured region, in config order. */
  regions: readonly string[];
  /** The rule for calls whose DID and tenant name none (`routing`). */
  fallback: RoutingConfig;
  /** The smoothed keepalive round trip of a region's own pools; undefined until one was measured. */
  rttMs(region: string): number | undefined;
}

/**
 * Picks a call's region before anything on its path waits: every input is already in memory (the
 * pools' state and their keepalives' round trips), so a dead near region costs a call nothing but
 * this loop. The health of a region is asked per call, because pools are keyed by the call's own
 * model, voice and account.
 */
export class RegionRouter {
  readonly #o: RegionRouterOptions;

  constructor(o: RegionRouterOptions) {
    this.#o = o;
  }

  get home(): string {
    return this.#o.home;
  }

  /**
   * The regions a rule may use, most preferred first. nearest: the replica's own region, then the
   * others by measured round trip (unmeasured ones last, in config order); pinned: its one region;
   * failover: its list as written.
   */
  candidates(routing: RoutingConfig | undefined): string[] {
    const r = routing ?? this.#o.fallback;
    if (r.rule !== 'nearest') return [...r.regions];
    const pool = r.regions.length ? r.regions : this.#o.regions;
    const others = pool.filter((n) => n !== this.#o.home);
    const rtt = (n: string) => this.#o.rttMs(n) ?? Number.POSITIVE_INFINITY;
    // Array.prototype.sort is stable: equal (or unmeasured) round trips keep config order.
    others.sort((a, b) => rtt(a) - rtt(b));
    return pool.includes(this.#o.home) ? [this.#o.home, ...others] : others;
  }

  /** Every region some rule may route a call to: the ones to keep warm. */
  reachable(rules: ReadonlyArray<RoutingConfig | undefined>): Set<string> {
    const out = new Set<string>();
    for (const r of [this.#o.fallback, ...rules]) for (const n of this.candidates(r)) out.add(n);
    return out;
  }

  /** The first alive candidate; a pinned rule never looks past its one region. */
  choose(routing: RoutingConfig | undefined, health: (region: string) => RegionHealth): RegionChoice {
    const rule = (routing ?? this.#o.fallback).rule;
    const order = this.candidates(routing);
    const why: string[] = [];
    for (const region of order) {
      const h = health(region);
      if (h.alive) return region === order[0] ? { ok: true, region, rule } : { ok: true, region, rule, failedOverFrom: order[0]! };
      why.push(`${region}: ${h.why ?? 'dead'}`);
    }
    const what = rule === 'pinned' ? `pinned to region ${order[0]}, which cannot serve` : `no region of [${order.join(', ')}] can serve`;
    return { ok: false, rule, tried: order, why: `${what} (${why.join('; ')})` };
  }
}
