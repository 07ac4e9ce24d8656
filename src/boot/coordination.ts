import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { Gauge, type Registry } from 'prom-client';
import type { UserAgent } from '../../sip/index.js';
import type { RegistrationSnapshot } from '../../sip/registration/index.js';
import { CachingDns } from '../../sip/dns/index.js';
import type { UpstreamName, WarmlineConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { CapacityGate } from '../pools/index.js';
import { MemoryLeaseStore, OwnershipManager, RedisLeaseStore, type LeaseStore } from '../leases/index.js';
import { createLeaseGate, type LeaseGate, type LeaseGateStats } from './lease-gate.js';
import { OwnedRegistrations } from './owned-registrations.js';
import { carrierAccounts, registeredContact } from './registration-accounts.js';
import { redisSecurity } from './redis-security.js';

export interface CoordinationOptions {
  config: WarmlineConfig;
  log: Logger;
  registry: Registry;
  /** Closes up to n idle connections of an upstream (all its keyed pools); returns how many. */
  closeIdle(upstream: UpstreamName, n: number): number;
}

/** Registration and provider-cap changes as they happen, for analytics (recorded per event, not sampled). */
export interface CoordinationChanges {
  registration: [snapshot: RegistrationSnapshot];
  /** `released`: this replica stopped refreshing it (ownership moved or drain). */
  released: [id: string, reason: string];
  gate: [stats: LeaseGateStats, kind: 'held' | 'mode' | 'cap-hit'];
}

/**
 * What replicas share through the lease store: each provider's global cap on
 * open connections (a gate per capped upstream, one slot per connection, warm
 * or leased) and the ownership of each carrier registration. With the memory
 * store (one replica) the same code runs with nobody to share with.
 */
export class Coordination {
  readonly replicaId: string;
  readonly store: LeaseStore;
  /** The RFC 3263 resolver (sip.dnsServers) of the registrations and the outbound calls' INVITEs: one cache. */
  readonly dns: CachingDns;
  readonly #o: CoordinationOptions;
  readonly #log: Logger;
  readonly #gates = new Map<UpstreamName, LeaseGate>();
  #registrations: OwnedRegistrations | undefined;
  #ownership: OwnershipManager | undefined;
  /** The ownership manager saw the store fail and has not seen it answer since. */
  #ownershipDegraded = false;
  readonly changes = new EventEmitter<CoordinationChanges>();

  constructor(o: CoordinationOptions) {
    this.#o = o;
    const { leases } = o.config;
    this.#log = o.log.child({ component: 'leases' });
    this.replicaId = leases.replicaId || `${hostname()}-${process.pid}`;
    this.dns = new CachingDns({ servers: o.config.sip.dnsServers });
    // A frozen Redis must surface as an error well inside a lease's life, or slots are lost before
    // the gate knows there is an outage to ride out.
    this.store = leases.store === 'redis'
      ? new RedisLeaseStore({ url: leases.redisUrl, commandTimeoutMs: Math.min(1000, Math.floor(leases.ttlMs / 4)), ...redisSecurity(leases) })
      : new MemoryLeaseStore();
    const logger = {
      info: (obj: Record<string, unknown>, msg: string) => this.#log.info(obj, msg),
      warn: (obj: Record<string, unknown>, msg: string) => this.#log.warn(obj, msg),
      error: (obj: Record<string, unknown>, msg: string) => this.#log.error(obj, msg),
    };
    for (const name of ['asr', 'tts', 'llm', 'crm'] as const) {
      const cap = o.config.upstreams[name].concurrencyCap;
      if (cap === 0) continue;
      const gate = createLeaseGate({
        store: this.store, provider: `${name}-cap`, limit: cap, ttlMs: leases.ttlMs, replicaId: this.replicaId,
        localShare: leases.localShare, reclaimIdle: (n) => o.closeIdle(name, n), logger,
      });
      // The gate itself logs the outage loudly (error level) and the recovery.
      this.#gates.set(name, gate);
      gate.on('changed', (kind) => this.changes.emit('gate', gate.stats(), kind));
    }
    this.#metrics(o.registry);
  }

  /** Gauges read at scrape time, like the pools' metrics. */
  #metrics(registry: Registry): void {
    const gates = this.#gates;
    // Degraded while any gate runs on its local share or registrations cannot be renewed.
    const down = () => this.#ownershipDegraded || [...gates.values()].some((g) => g.mode === 'local');
    const regs = () => this.registrations();
    new Gauge({
      name: 'warmline_lease_slots_held', help: 'Capacity slots this replica holds, per capped upstream and gate mode', labelNames: ['upstream', 'mode'], registers: [registry],
      collect() { this.reset(); for (const [name, g] of gates) this.set({ upstream: name, mode: g.mode }, g.held()); },
    });
    new Gauge({ name: 'warmline_lease_store_degraded', help: '1 while the lease store is unreachable (caps are local-only)', registers: [registry], collect() { this.set(down() ? 1 : 0); } });
    const perRegistration = (name: string, help: string, value: (s: RegistrationSnapshot) => number | undefined) => new Gauge({
      name, help, labelNames: ['id'], registers: [registry],
      collect() {
        this.reset();
        for (const s of regs()) {
          const v = value(s);
          if (v !== undefined) this.set({ id: s.id }, v);
        }
      },
    });
    perRegistration('warmline_registration_up', '1 while a registration this replica owns is registered', (s) => (s.state === 'registered' ? 1 : 0));
    perRegistration('warmline_registration_failures', 'Failed REGISTER attempts of an owned registration', (s) => s.failures);
    perRegistration('warmline_registration_rtt_seconds', 'Last REGISTER or OPTIONS round trip to the registrar', (s) => (s.rttMs === undefined ? undefined : s.rttMs / 1000));
    perRegistration('warmline_registration_last_success_timestamp_seconds', 'When an owned registration last succeeded', (s) => (s.lastSuccessAt === undefined ? undefined : s.lastSuccessAt / 1000));
  }

  /**
   * Waits (bounded) for the store's first connection, so the pools' first
   * opens at boot do not count a connection still being made as an outage.
   */
  async connect(timeoutMs = 3000): Promise<void> {
    const store = this.store;
    if (!(store instanceof RedisLeaseStore)) return;
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      store.ready().then(() => true, () => false),
      new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); }),
    ]);
    clearTimeout(timer);
    if (!ok) this.#log.error({ url: this.#o.config.leases.redisUrl, timeoutMs }, 'LEASE STORE UNREACHABLE at start: capped pools begin on their local share');
  }

  /** The gate a capped upstream's pools open through; undefined when uncapped. */
  gateFor(upstream: UpstreamName): CapacityGate | undefined {
    return this.#gates.get(upstream);
  }

  /** Starts owning (and refreshing) this replica's share of the carrier registrations. */
  startRegistrations(ua: UserAgent): void {
    const accounts = carrierAccounts(this.#o.config.registrations);
    if (accounts.length === 0) return;
    this.#ownership = new OwnershipManager({ store: this.store, replicaId: this.replicaId, keys: accounts.map((a) => a.id), ttlMs: this.#o.config.leases.ttlMs });
    // Registered: the balancer's address, so a carrier's calls reach whichever replica is healthy.
    // Not the dialogs' Contact: in-dialog requests must reach this replica (the balancer
    // record-routes, so they pass through it on the way).
    const { registerHost, registerPort } = this.#o.config.sip;
    const contact = registeredContact(ua, registerHost, registerPort);
    // One cache for every account: registrars named by host are looked up per RFC 3263 (NAPTR, SRV, A/AAAA).
    this.#registrations = new OwnedRegistrations({ ownership: this.#ownership, accounts, ua, pool: { contact, dns: this.dns } });
    this.#ownership.on('degraded', () => { this.#ownershipDegraded = true; });
    this.#ownership.on('recovered', () => { this.#ownershipDegraded = false; });
    this.#registrations.on('registered', (id) => this.#log.debug({ id }, 'registration refreshed'));
    this.#registrations.on('failure', (id, err) => this.#log.warn({ id, code: (err as { code?: unknown }).code, err: err.message }, 'REGISTER failed, retrying with backoff'));
    this.#registrations.on('released', (id, reason) => {
      this.#log.info({ id, reason }, 'registration no longer refreshed here');
      this.changes.emit('released', id, reason);
    });
    this.#registrations.on('state', (id) => {
      const s = this.#registrations?.pool(id)?.snapshots().find((x) => x.id === id);
      if (s) this.changes.emit('registration', s);
    });
    this.#registrations.start();
  }

  /** State of the registrations this replica owns now. */
  registrations(): RegistrationSnapshot[] {
    const r = this.#registrations;
    if (!r) return [];
    return r.active().flatMap((id) => r.pool(id)?.snapshots() ?? []);
  }

  /** Why this replica is not ready, as far as coordination goes: an owned registration that is not up. */
  readinessReasons(): string[] {
    return this.registrations().filter((s) => s.state !== 'registered').map((s) => `registration ${s.id}: ${s.state}${s.lastStatus ? ` (last status ${s.lastStatus})` : ''}${s.lastError ? ` (${s.lastError.code}: ${s.lastError.message})` : ''}`);
  }

  gateStats(): ReturnType<LeaseGate['stats']>[] {
    return [...this.#gates.values()].map((g) => g.stats());
  }

  /** Drain: registrations go to another replica at once instead of at the TTL. */
  async releaseRegistrations(): Promise<void> {
    await this.#registrations?.stop();
    this.#registrations = undefined;
  }

  /** After the pools closed (their slots are back): stop the gates and the store. */
  async close(): Promise<void> {
    await this.releaseRegistrations();
    await Promise.all([...this.#gates.values()].map((g) => g.close()));
    await this.store.close();
  }
}
