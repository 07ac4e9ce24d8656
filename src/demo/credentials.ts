import { randomBytes } from 'node:crypto';

export interface DemoCredential {
  username: string;
  password: string;
  expiresAt: number;
  /** The tenant whose call a browser places with it (src/tenants); absent: the default tenant. */
  tenant?: string;
}

export type IssueRefusal = { status: 429; error: 'rate-limited'; retryAfterS: number } | { status: 503; error: 'at-capacity' };

export interface DemoCredentialsOptions {
  ttlMs: number;
  /** Sessions a client address may ask for in any minute. */
  perMinute: number;
  maxConcurrentCalls: number;
  /** Demo calls in progress now. */
  activeCalls(): number;
  now?: () => number;
}

const MAX_CLIENTS = 10_000;

/**
 * Short-lived SIP digest credentials for browsers (POST /demo/session). A browser must hold one
 * to INVITE: the demo reaches paid upstreams, and an open SIP WebSocket must not. A credential
 * lives `ttlMs`; afterwards its user is unknown and the INVITE gets 403.
 */
export class DemoCredentials {
  readonly #o: DemoCredentialsOptions;
  readonly #now: () => number;
  readonly #users = new Map<string, DemoCredential>();
  /** client address → times of its recent requests (a sliding minute). */
  readonly #recent = new Map<string, number[]>();

  constructor(o: DemoCredentialsOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  issue(client: string, tenant?: string): DemoCredential | IssueRefusal {
    const now = this.#now();
    this.#sweep(now);
    const times = (this.#recent.get(client) ?? []).filter((t) => now - t < 60_000);
    if (times.length >= this.#o.perMinute) {
      return { status: 429, error: 'rate-limited', retryAfterS: Math.ceil((times[0]! + 60_000 - now) / 1000) };
    }
    if (this.#o.activeCalls() >= this.#o.maxConcurrentCalls) return { status: 503, error: 'at-capacity' };
    times.push(now);
    this.#recent.delete(client);
    this.#recent.set(client, times);
    if (this.#recent.size > MAX_CLIENTS) this.#recent.delete(this.#recent.keys().next().value!);
    const cred: DemoCredential = {
      username: `web-${randomBytes(6).toString('hex')}`,
      password: randomBytes(18).toString('base64url'),
      expiresAt: now + this.#o.ttlMs,
      ...(tenant !== undefined && { tenant }),
    };
    this.#users.set(cred.username, cred);
    return cred;
  }

  /** The password of a live credential, for the digest server; undefined once expired. */
  password(username: string): string | undefined {
    const c = this.#users.get(username);
    if (!c) return undefined;
    if (c.expiresAt <= this.#now()) {
      this.#users.delete(username);
      return undefined;
    }
    return c.password;
  }

  /** The tenant a live credential was issued for (read when its INVITE arrives: the call keeps it). */
  tenantOf(username: string): string | undefined {
    return this.#users.get(username)?.tenant;
  }

  get live(): number {
    this.#sweep(this.#now());
    return this.#users.size;
  }

  #sweep(now: number): void {
    // Insertion order is issue order and every credential has the same lifetime: expired ones lead.
    for (const [u, c] of this.#users) {
      if (c.expiresAt > now) break;
      this.#users.delete(u);
    }
  }
}
