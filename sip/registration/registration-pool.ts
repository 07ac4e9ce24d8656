import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { newBranch, newCallId, newTag, SipRequest, type SipResponse } from '../message/index.js';
import { DigestClient } from '../digest/index.js';
import { CachingDns, resolveSipTargets, type DnsLookups, type SipTarget, type SipTransportName } from '../dns/index.js';
import type { TlsTarget } from '../transport/transport.js';
import { Schedule } from './schedule.js';
import { SipRegistrationError } from './errors.js';

export type RegistrationState = 'idle' | 'registering' | 'registered' | 'backoff' | 'failed' | 'unregistering';

export interface CarrierAccount {
  id: string;
  /** AOR user and domain: To/From are sip:user@domain; the Request-URI is sip:domain. */
  user: string;
  domain: string;
  /** Registrar (outbound proxy) host; RFC 3263 applies when it is a name without a port. */
  registrar: { host: string; port?: number; transport?: SipTransportName };
  username?: string;
  password?: string;
  realm?: string;
  expires?: number;
  /**
   * With `registrar.transport: tls`: the host name the registrar's certificate must be valid
   * for (default: `registrar.host` when it is a name), the CA bundle to trust and our client
   * certificate (default: the UA's TLS client options).
   */
  tls?: TlsTarget;
}

/** Where one REGISTER (or OPTIONS keepalive) goes. */
export interface RegistrarDestination { address: string; port: number; transport?: SipTransportName; tls?: TlsTarget }

/** What the pool needs from the UA core (sip/ua's UserAgent fits). */
export interface RegistrarClient {
  /** `to.transport` is set when the account names one (registrar.transport); otherwise the UA picks its default. */
  sendRequest(req: SipRequest, to: RegistrarDestination): Promise<SipResponse>;
  readonly contact: string;
  /** Our Contact for a transport (sip/ua's UserAgent.contactFor): an account pinned to TCP registers a `;transport=tcp` Contact. */
  contactFor?(transport: SipTransportName): string;
}

export interface RegistrationPoolOptions {
  ua: RegistrarClient;
  /**
   * Contact URI registered (a load balancer's address for replicas), or one per account
   * transport (a TLS account registers a `;transport=tls` Contact at the TLS port). Default:
   * ua.contactFor(the account's transport), else ua.contact.
   */
  contact?: string | ((transport: SipTransportName | undefined) => string);
  /** RFC 3263 look-ups (NAPTR, SRV, A/AAAA). Default: a CachingDns on the system's resolvers. */
  dns?: DnsLookups;
  /** Refresh at this fraction of the granted Expires (default 0.5). */
  refreshFraction?: number;
  backoff?: { baseMs?: number; maxMs?: number; forbiddenMs?: number };
  /** OPTIONS keepalive period (0 disables). Default 30 s. */
  keepaliveMs?: number;
  /** Spread first registrations over this window so 10,000 accounts do not register in one burst. */
  startSpreadMs?: number;
  /** Refreshes and keepalives due within this many ms of each other are sent in one timer wakeup (up to this early). Default 100. */
  batchMs?: number;
  /** Consecutive credential refusals before the state becomes `failed` (it still retries, on the forbidden backoff). */
  maxAuthFailures?: number;
  now?: () => number;
  random?: () => number;
}

export interface RegistrationSnapshot {
  id: string; state: RegistrationState; lastSuccessAt: number | undefined; failures: number;
  rttMs: number | undefined; expiresAt: number | undefined; cseq: number; callId: string; target: string | undefined; lastStatus: number | undefined;
  /** Why the last attempt got no response (a refused certificate, a timeout, no DNS answer): its code and message. */
  lastError: { code: string; message: string } | undefined;
}

interface Reg {
  a: CarrierAccount; state: RegistrationState; callId: string; tag: string; cseq: number; digest: DigestClient | undefined;
  failures: number; consecutive: number; authFailures: number; lastSuccessAt: number | undefined; rttMs: number | undefined; expiresAt: number | undefined;
  targets: SipTarget[]; ti: number; lastStatus: number | undefined; lastError: { code: string; message: string } | undefined; inflight: boolean; removed: boolean;
}

export interface RegistrationPoolEvents {
  state: [id: string, state: RegistrationState, previous: RegistrationState];
  ready: [];
  unready: [];
  /** An attempt that got no response at all (the error it failed with); the registration backs off and retries. */
  failure: [id: string, error: Error];
}

/**
 * Standing REGISTERs for many carrier accounts (RFC 3261 §10). One schedule
 * drives every refresh, retry and keepalive.
 */
export class RegistrationPool extends EventEmitter<RegistrationPoolEvents> {
  private readonly regs = new Map<string, Reg>();
  private readonly sched: Schedule;
  private readonly o: Required<Omit<RegistrationPoolOptions, 'dns' | 'contact' | 'backoff' | 'batchMs'>> & { dns: DnsLookups | undefined; contact: RegistrationPoolOptions['contact']; backoff: { baseMs: number; maxMs: number; forbiddenMs: number } };
  private registered = 0;
  private wasReady = false;
  private closing = false;

  constructor(opts: RegistrationPoolOptions) {
    super();
    const f = opts.refreshFraction ?? 0.5;
    if (!(f > 0 && f < 1)) throw new SipRegistrationError('SIP_ERR_REG_CONFIG', 'refreshFraction must be between 0 and 1', { refreshFraction: f });
    this.o = {
      ua: opts.ua, contact: opts.contact, dns: opts.dns, refreshFraction: f,
      backoff: { baseMs: opts.backoff?.baseMs ?? 1000, maxMs: opts.backoff?.maxMs ?? 300_000, forbiddenMs: opts.backoff?.forbiddenMs ?? 600_000 },
      keepaliveMs: opts.keepaliveMs ?? 30_000, startSpreadMs: opts.startSpreadMs ?? 0, maxAuthFailures: opts.maxAuthFailures ?? 1,
      now: opts.now ?? Date.now, random: opts.random ?? Math.random,
    };
    this.sched = new Schedule((k) => this.due(k), this.o.now, opts.batchMs ?? 100);
  }

  add(a: CarrierAccount): void {
    if (this.regs.has(a.id)) throw new SipRegistrationError('SIP_ERR_REG_DUPLICATE', `registration ${a.id} already exists`, { id: a.id });
    if (!a.user || !a.domain || !a.registrar?.host) throw new SipRegistrationError('SIP_ERR_REG_CONFIG', `registration ${a.id} needs user, domain and registrar.host`, { id: a.id });
    if (a.expires !== undefined && !(Number.isInteger(a.expires) && a.expires > 0)) throw new SipRegistrationError('SIP_ERR_REG_CONFIG', `registration ${a.id}: expires must be a positive integer`, { id: a.id, expires: a.expires });
    const r: Reg = {
      a, state: 'idle', callId: newCallId(a.domain), tag: newTag(), cseq: 0,
      digest: a.password !== undefined ? new DigestClient({ username: a.username ?? a.user, password: a.password, ...(a.realm ? { realm: a.realm } : {}) }) : undefined,
      failures: 0, consecutive: 0, authFailures: 0, lastSuccessAt: undefined, rttMs: undefined, expiresAt: undefined, targets: [], ti: 0, lastStatus: undefined, lastError: undefined, inflight: false, removed: false,
    };
    this.regs.set(a.id, r);
    if (this.wasReady) { this.wasReady = false; this.emit('unready'); }
    this.sched.at(`r:${a.id}`, this.o.now() + Math.floor(this.o.random() * this.o.startSpreadMs));
  }

  get ready(): boolean { return this.regs.size > 0 && this.registered === this.regs.size; }

  snapshot(id: string): RegistrationSnapshot | undefined {
    const r = this.regs.get(id);
    if (!r) return undefined;
    const t = r.targets[r.ti];
    return { id, state: r.state, lastSuccessAt: r.lastSuccessAt, failures: r.failures, rttMs: r.rttMs, expiresAt: r.expiresAt, cseq: r.cseq, callId: r.callId, target: t ? `${t.address}:${t.port}` : undefined, lastStatus: r.lastStatus, lastError: r.lastError };
  }

  snapshots(): RegistrationSnapshot[] { return [...this.regs.keys()].map((id) => this.snapshot(id)!); }

  counts(): Record<RegistrationState, number> {
    const c: Record<RegistrationState, number> = { idle: 0, registering: 0, registered: 0, backoff: 0, failed: 0, unregistering: 0 };
    for (const r of this.regs.values()) c[r.state]++;
    return c;
  }

  /** Un-REGISTERs (Expires: 0) every registered binding and stops all timers. */
  async close(): Promise<void> {
    this.closing = true;
    this.sched.close();
    await Promise.all([...this.regs.values()].map(async (r) => {
      if (r.state !== 'registered') { this.set(r, 'idle'); return; }
      this.set(r, 'unregistering');
      try { await this.exchange(r, 0); } catch { /* best effort on shutdown */ }
      this.set(r, 'idle');
    }));
  }

  private due(key: string): void {
    const id = key.slice(2);
    const r = this.regs.get(id);
    if (!r || this.closing) return;
    const run = key[0] === 'k' ? this.keepalive(r) : this.register(r);
    // Both handle a failed exchange themselves; what is left is a throwing listener: register again later rather than die.
    run.catch(() => { if (!this.closing) this.sched.at(`r:${id}`, this.o.now() + this.o.backoff.baseMs); });
  }

  private set(r: Reg, s: RegistrationState): void {
    if (r.state === s) return;
    const prev = r.state;
    if (prev === 'registered') this.registered--;
    if (s === 'registered') this.registered++;
    r.state = s;
    this.emit('state', r.a.id, s, prev);
    const ready = this.ready;
    if (ready && !this.wasReady) { this.wasReady = true; this.emit('ready'); } else if (!ready && this.wasReady) { this.wasReady = false; this.emit('unready'); }
  }

  private async register(r: Reg): Promise<void> {
    if (r.inflight) return;
    r.inflight = true;
    if (r.state !== 'registered') this.set(r, 'registering');
    try {
      const res = await this.exchange(r, r.a.expires ?? 3600);
      r.lastStatus = res.status;
      r.lastError = undefined;
      if (res.status >= 200 && res.status < 300) return this.success(r, res);
      if (res.status === 403 || res.status === 401 || res.status === 407) { r.authFailures++; return this.failure(r, this.o.backoff.forbiddenMs, r.authFailures >= this.o.maxAuthFailures); }
      if (res.status === 503 || res.status >= 500) r.ti = (r.ti + 1) % Math.max(1, r.targets.length);
      return this.failure(r, undefined, false);
    } catch (err) {
      r.lastStatus = undefined;
      const e = err instanceof Error ? err : new Error(String(err));
      const code = (e as Error & { code?: unknown }).code;
      r.lastError = { code: typeof code === 'string' ? code : 'ERROR', message: e.message };
      this.emit('failure', r.a.id, e);
      r.ti = (r.ti + 1) % Math.max(1, r.targets.length); // RFC 3263 §4.3: next target on timeout
      if (r.ti === 0) r.targets = []; // all tried: resolve again next time
      return this.failure(r, undefined, false);
    } finally { r.inflight = false; }
  }

  /** One REGISTER round, answering digest challenges (a stale nonce is retried and not counted). */
  private async exchange(r: Reg, expires: number): Promise<SipResponse> {
    // Resolved for every REGISTER (the DNS cache answers within each record's TTL), so a carrier's
    // DNS change is followed; we stay on the target in use while it is still listed (RFC 3263 §4.3).
    const cur = r.targets[r.ti];
    let fresh: SipTarget[];
    try {
      fresh = await resolveSipTargets(r.a.registrar, this.o.dns ?? (this.o.dns = new CachingDns()), this.o.random);
    } catch (err) {
      if (r.targets.length === 0) throw err;
      fresh = r.targets; // a DNS outage must not end a registration that works: keep the last targets
    }
    r.targets = fresh;
    r.ti = cur ? Math.max(0, fresh.findIndex((t) => t.address === cur.address && t.port === cur.port && t.transport === cur.transport)) : 0;
    const to = r.targets[r.ti]!;
    let auth: { header: string; value: string } | undefined = r.digest?.preauthorize('REGISTER', `sip:${r.a.domain}`);
    for (let round = 0; round < 4; round++) {
      const req = this.build(r, 'REGISTER', expires, auth);
      const t0 = performance.now();
      const res = await this.o.ua.sendRequest(req, dest(r, to));
      r.rttMs = performance.now() - t0;
      if ((res.status === 401 || res.status === 407) && r.digest) {
        const ch = res.header(res.status === 401 ? 'www-authenticate' : 'proxy-authenticate');
        if (!ch) return res;
        const out = r.digest.answer(res.status, ch, 'REGISTER', req.uri);
        if (out.kind === 'rejected') return res;
        auth = { header: out.header, value: out.value };
        continue;
      }
      if (res.status === 423) {
        // RFC 3261 §10.2.8: "the UA ... MAY retry the registration ... with an expiration interval ... greater than or equal to" Min-Expires.
        const min = Number(res.header('min-expires'));
        if (Number.isInteger(min) && min > expires && expires !== 0) { expires = min; continue; }
      }
      if (res.status >= 200 && res.status < 300) r.digest?.accepted();
      return res;
    }
    throw new Error('too many challenge rounds');
  }

  private build(r: Reg, method: 'REGISTER' | 'OPTIONS', expires: number, auth?: { header: string; value: string }): SipRequest {
    const aor = `sip:${r.a.user}@${r.a.domain}`;
    const req = new SipRequest(method, `sip:${r.a.domain}`);
    req.setHeader('via', `SIP/2.0/UDP placeholder;branch=${newBranch()}`);
    req.setHeader('max-forwards', '70');
    req.setHeader('from', `<${aor}>;tag=${method === 'REGISTER' ? r.tag : newTag()}`);
    req.setHeader('to', `<${aor}>`);
    // RFC 3261 §10.2.4: refreshes use the same Call-ID and an incremented CSeq.
    req.setHeader('call-id', method === 'REGISTER' ? r.callId : randomBytes(12).toString('hex'));
    req.setHeader('cseq', `${method === 'REGISTER' ? ++r.cseq : 1} ${method}`);
    if (method === 'REGISTER') {
      req.setHeader('contact', `<${this.contactOf(r)}>`);
      req.setHeader('expires', String(expires));
    }
    if (auth) req.setHeader(auth.header.toLowerCase(), auth.value);
    req.setHeader('content-length', '0');
    return req;
  }

  /** The configured Contact wins (a balancer's address); else the UA's, for the account's transport when it names one. */
  private contactOf(r: Reg): string {
    const t = r.a.registrar.transport;
    const c = this.o.contact;
    if (typeof c === 'function') return c(t);
    return c ?? (t && this.o.ua.contactFor ? this.o.ua.contactFor(t) : this.o.ua.contact);
  }

  private success(r: Reg, res: SipResponse): void {
    const now = this.o.now();
    let granted = Number(res.header('expires'));
    for (const c of res.contact) {
      if (sameUri(c.uri, this.contactOf(r)) && c.params.has('expires')) { granted = Number(c.params.get('expires')); break; }
    }
    if (!(granted > 0)) granted = r.a.expires ?? 3600;
    r.expiresAt = now + granted * 1000;
    r.lastSuccessAt = now;
    r.consecutive = 0;
    r.authFailures = 0;
    this.set(r, 'registered');
    // Jitter (−10 %…0) spreads refreshes so accounts registered together do not refresh in lockstep.
    const delay = granted * 1000 * this.o.refreshFraction * (1 - 0.1 * this.o.random());
    this.sched.at(`r:${r.a.id}`, now + delay);
    if (this.o.keepaliveMs > 0) this.sched.at(`k:${r.a.id}`, now + this.o.keepaliveMs * (0.5 + 0.5 * this.o.random()));
  }

  private failure(r: Reg, floorMs: number | undefined, fatal: boolean): void {
    r.failures++;
    r.consecutive++;
    const b = this.o.backoff;
    // Exponential backoff with full jitter over the upper half; never a hot loop (≥ baseMs/2).
    const exp = Math.min(b.maxMs, b.baseMs * 2 ** Math.min(r.consecutive - 1, 30));
    const delay = Math.max(floorMs ?? 0, exp / 2 + (exp / 2) * this.o.random());
    this.set(r, fatal ? 'failed' : 'backoff');
    this.sched.cancel(`k:${r.a.id}`);
    this.sched.at(`r:${r.a.id}`, this.o.now() + delay);
  }

  private async keepalive(r: Reg): Promise<void> {
    const to = r.targets[r.ti];
    if (!to || r.state !== 'registered') return;
    const t0 = performance.now();
    try {
      const res = await this.o.ua.sendRequest(this.build(r, 'OPTIONS', 0), dest(r, to));
      if (res.status < 500 || res.status === 501) r.rttMs = performance.now() - t0; // any answer proves the carrier is alive
    } catch {
      // The carrier stopped answering: re-register now (which fails over to the next target).
      if (!this.closing && r.state === 'registered') { r.ti = (r.ti + 1) % Math.max(1, r.targets.length); this.sched.at(`r:${r.a.id}`, this.o.now()); return; }
    }
    if (!this.closing && r.state === 'registered') this.sched.at(`k:${r.a.id}`, this.o.now() + this.o.keepaliveMs);
  }
}

/**
 * Only an account that names its transport pins it: DNS may offer TCP to a UA that listens on
 * UDP alone. Over TLS the registrar must prove it is the host we were configured with (RFC 5922
 * §4.1: the domain of the URI, not an SRV target's name nor the address it resolved to).
 */
function dest(r: Reg, to: SipTarget): RegistrarDestination {
  const { registrar, tls } = r.a;
  if (!registrar.transport) return { address: to.address, port: to.port };
  if (to.transport !== 'tls') return { address: to.address, port: to.port, transport: to.transport };
  const host = registrar.host.replace(/^\[(.*)\]$/, '$1');
  const serverName = tls?.serverName ?? (isIP(host) === 0 ? host : undefined);
  return { address: to.address, port: to.port, transport: 'tls', tls: { ...tls, ...(serverName !== undefined && { serverName }) } };
}

function sameUri(a: string, b: string): boolean {
  const strip = (u: string) => u.replace(/^<|>$/g, '').split(';')[0]!.toLowerCase();
  return strip(a) === strip(b);
}
