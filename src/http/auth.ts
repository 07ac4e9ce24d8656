import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';

/** One operations credential: a name that appears in the logs, and the bearer secret. */
export interface OpsToken { readonly name: string; readonly token: string }

/**
 * Who may read the probes (/healthz, /readyz, /metrics) without a token:
 * `loopback` — clients on 127.0.0.0/8 or ::1 only; `open` — anyone; `token` — like /api.
 */
export type ProbeAccess = 'loopback' | 'open' | 'token';

export interface OpsAuthOptions {
  tokens: readonly OpsToken[];
  probes: ProbeAccess;
}

/** The caller an allowed request was made by: a token's name, or `loopback` when no token is configured. */
export type OpsCaller = { readonly who: string };

export type OpsDecision = { ok: true; who: string } | { ok: false; status: 401 | 403; reason: string };

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

const DEMO_SESSION = '/demo/session';
const DASHBOARD_SHELL = new Set(['/dashboard', '/dashboard/', '/dashboard/app.js', '/dashboard/app.css']);

export function isProbePath(path: string): boolean {
  return PROBES.has(path);
}

/**
 * What needs operations credentials: /api/* (callers' numbers and transcripts, the dashboard's data), and
 * every method other than GET/HEAD (admin actions). Routes added later through `extra`
 * (the dashboard's, the demo's) are covered by the same rule, so none can be forgotten.
 *
 * One POST is public on purpose: `/demo/session`, where a browser asks for its short-lived SIP
 * credentials. It has its own guard (rate limit per client address, `demo.maxConcurrentCalls`,
 * credentials that expire) and the INVITE is digest-checked; with `demo.enabled: false` it is gone.
 */
export function isProtected(method: string, path: string): boolean {
  if (method === 'POST' && path === DEMO_SESSION) return false;
  if (method !== 'GET' && method !== 'HEAD') return true;
  // The dashboard's shell (its HTML, script and style) holds no data and is public: a browser
  // cannot send a bearer header when it navigates, so a protected shell could never be opened
  // beyond loopback. Everything it shows comes from /api/analytics/*, which needs the token.
  if (DASHBOARD_SHELL.has(path)) return false;
  return path === '/api' || path.startsWith('/api/') || path.startsWith('/dashboard');
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^::ffff:/i, '');
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1';
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Bearer-token checks for the ops server. Tokens are compared as SHA-256 digests with
 * timingSafeEqual, and every configured token is compared on every request, so neither the length
 * of a guess nor which token it came close to shows in the response time.
 * With no token configured, protected routes answer loopback clients only.
 */
export class OpsAuth {
  readonly #tokens: ReadonlyArray<{ name: string; digest: Buffer }>;
  readonly #probes: ProbeAccess;

  constructor(o: OpsAuthOptions) {
    this.#tokens = o.tokens.map((t) => ({ name: t.name, digest: digest(t.token) }));
    this.#probes = o.probes;
  }

  get hasTokens(): boolean { return this.#tokens.length > 0; }

  /** The token's name when `presented` matches one, else undefined. */
  match(presented: string): string | undefined {
    const d = digest(presented);
    let found: string | undefined;
    for (const t of this.#tokens) if (timingSafeEqual(t.digest, d) && found === undefined) found = t.name;
    return found;
  }

  /** Decides one request: protected routes need a token (or loopback when none is configured). */
  decide(req: IncomingMessage, path: string): OpsDecision {
    const method = req.method ?? 'GET';
    const loopback = isLoopback(req.socket.remoteAddress);
    if (isProbePath(path) && (method === 'GET' || method === 'HEAD')) {
      if (this.#probes === 'open') return { ok: true, who: 'anyone' };
      if (this.#probes === 'loopback') return loopback ? { ok: true, who: 'loopback' } : { ok: false, status: 403, reason: 'probes answer loopback clients only (ops.probes)' };
      return this.#bearer(req, loopback);
    }
    if (!isProtected(method, path)) return { ok: true, who: 'anyone' };
    return this.#bearer(req, loopback);
  }

  #bearer(req: IncomingMessage, loopback: boolean): OpsDecision {
    if (!this.hasTokens) {
      return loopback ? { ok: true, who: 'loopback' } : { ok: false, status: 403, reason: 'no ops token is configured: this route answers loopback clients only' };
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const name = m ? this.match(m[1]!) : undefined;
    return name === undefined ? { ok: false, status: 401, reason: 'a valid bearer token is required' } : { ok: true, who: name };
  }

  /**
   * For routes registered outside the ops server: returns the caller, or answers 401/403 itself
   * and returns undefined.
   */
  guard(req: IncomingMessage, res: ServerResponse): OpsCaller | undefined {
    const path = (req.url ?? '/').split('?')[0]!;
    const d = this.decide(req, path);
    if (d.ok) return { who: d.who };
    deny(res, d);
    return undefined;
  }
}

export function deny(res: ServerResponse, d: { status: number; reason: string }): void {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  if (d.status === 401) headers['www-authenticate'] = 'Bearer realm="warmline-ops"';
  res.writeHead(d.status, headers);
  res.end(JSON.stringify({ error: d.reason }));
}
