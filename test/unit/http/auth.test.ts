import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Registry } from 'prom-client';
import { OpsAuth, startOpsServer, type OpsServer } from '../../../src/http/index.js';
import { capturedLogger } from '../../support/log-capture.js';

const TOKEN = 'oncall-0123456789abcdef';
const OTHER = 'ci-fedcba9876543210zz';

function sources(extraSeen: string[]) {
  return {
    registry: new Registry(),
    readiness: () => ({ ready: true, reasons: [] }),
    pools: () => [],
    calls: () => ({ active: [{ caller: '+15550001111' }] }),
    extra: (req: IncomingMessage, res: import('node:http').ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (!path.startsWith('/dashboard') && path !== '/demo' && path !== '/demo/session') return false;
      extraSeen.push(path);
      res.end('page');
      return true;
    },
  };
}

/** A request as the server sees it, from an address the tests cannot reach on loopback. */
const fakeReq = (remoteAddress: string, method = 'GET', authorization?: string) =>
  ({ method, headers: authorization ? { authorization } : {}, socket: { remoteAddress } }) as unknown as IncomingMessage;

describe('http: ops authentication', () => {
  describe('with tokens configured', () => {
    let server: OpsServer;
    const seen: string[] = [];
    const cap = capturedLogger('info');
    before(async () => {
      server = await startOpsServer('127.0.0.1', 0, sources(seen), cap.log, { tokens: [{ name: 'oncall', token: TOKEN }, { name: 'ci', token: OTHER }], probes: 'loopback', probesPort: 0 });
    });
    after(() => server.close());

    it('/api/* without a token is 401 with a Bearer challenge, even from loopback', async () => {
      const res = await fetch(`${server.url}/api/calls`);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
      assert.doesNotMatch(await res.text(), /15550001111/);
    });

    it('a wrong token, a token of the right length and a prefix of a real token are all 401', async () => {
      for (const t of ['nope', TOKEN.replace(/.$/, 'x'), TOKEN.slice(0, -1), `${TOKEN}x`]) {
        const res = await fetch(`${server.url}/api/calls`, { headers: { authorization: `Bearer ${t}` } });
        assert.equal(res.status, 401, t);
      }
    });

    it('either configured token opens /api/*; the scheme is case-insensitive', async () => {
      for (const auth of [`Bearer ${TOKEN}`, `bearer ${OTHER}`]) {
        const res = await fetch(`${server.url}/api/calls`, { headers: { authorization: auth } });
        assert.equal(res.status, 200);
        assert.match(await res.text(), /15550001111/);
      }
    });

    it('dashboard routes served through `extra` are behind the same check; other extra routes are not', async () => {
      assert.equal((await fetch(`${server.url}/dashboard/pools`)).status, 401);
      // The shell (no data) opens without a token: a browser cannot send one when it navigates.
      assert.equal((await fetch(`${server.url}/dashboard/`)).status, 200);
      assert.equal((await fetch(`${server.url}/api/analytics/live`)).status, 401);
      seen.length = 0;
      assert.deepEqual(seen, []);
      const ok = await fetch(`${server.url}/dashboard/pools`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(ok.status, 200);
      assert.equal((await fetch(`${server.url}/demo`)).status, 200);
      assert.deepEqual(seen, ['/dashboard/pools', '/demo']);
    });

    it('every POST needs a token, whatever its path, but the browser demo\'s credential request', async () => {
      assert.equal((await fetch(`${server.url}/demo`, { method: 'POST' })).status, 401);
      assert.equal((await fetch(`${server.url}/api/admin/drain`, { method: 'POST' })).status, 401);
      // The demo guards /demo/session itself (rate per client, a cap, expiring credentials).
      assert.equal((await fetch(`${server.url}/demo/session`, { method: 'POST' })).status, 200);
      assert.ok(seen.includes('/demo/session'));
    });

    it('probes stay open to loopback clients without a token', async () => {
      for (const p of ['/healthz', '/readyz', '/metrics']) assert.equal((await fetch(`${server.url}${p}`)).status, 200, p);
    });

    it('a refused request is logged without the token it presented', async () => {
      await fetch(`${server.url}/api/pools`, { headers: { authorization: 'Bearer leaked-guess-0000000000' } });
      assert.match(cap.text(), /ops request refused/);
      assert.doesNotMatch(cap.text(), /leaked-guess/);
    });

    it('the server exposes its check for routes registered elsewhere (guard answers 401 itself)', () => {
      assert.deepEqual(server.auth.decide(fakeReq('127.0.0.1', 'GET', `Bearer ${OTHER}`), '/api/analytics/live'), { ok: true, who: 'ci' });
      assert.equal(server.auth.match(TOKEN), 'oncall');
      assert.equal(server.auth.match(TOKEN.toUpperCase()), undefined);
    });
  });

  describe('decisions by client address (OpsAuth)', () => {
    it('no tokens: protected routes answer loopback only, 403 elsewhere', () => {
      const a = new OpsAuth({ tokens: [], probes: 'loopback' });
      assert.deepEqual(a.decide(fakeReq('127.0.0.1'), '/api/calls'), { ok: true, who: 'loopback' });
      assert.deepEqual(a.decide(fakeReq('::ffff:127.0.0.9'), '/api/calls'), { ok: true, who: 'loopback' });
      assert.deepEqual(a.decide(fakeReq('::1'), '/api/analytics/live'), { ok: true, who: 'loopback' });
      assert.equal((a.decide(fakeReq('198.51.100.7'), '/api/calls') as { status: number }).status, 403);
      assert.equal((a.decide(fakeReq('198.51.100.7', 'POST'), '/api/admin/drain') as { status: number }).status, 403);
      // A token presented when none is configured opens nothing.
      assert.equal((a.decide(fakeReq('198.51.100.7', 'GET', 'Bearer anything-at-all-000'), '/api/calls') as { status: number }).status, 403);
    });

    it('probes: loopback refuses other clients; open lets them; token asks for one', () => {
      const lo = new OpsAuth({ tokens: [], probes: 'loopback' });
      assert.equal((lo.decide(fakeReq('198.51.100.7'), '/metrics') as { status: number }).status, 403);
      assert.equal(lo.decide(fakeReq('127.0.0.1'), '/metrics').ok, true);
      const open = new OpsAuth({ tokens: [], probes: 'open' });
      assert.equal(open.decide(fakeReq('198.51.100.7'), '/readyz').ok, true);
      const tok = new OpsAuth({ tokens: [{ name: 'scraper', token: TOKEN }], probes: 'token' });
      assert.equal((tok.decide(fakeReq('127.0.0.1'), '/metrics') as { status: number }).status, 401);
      assert.deepEqual(tok.decide(fakeReq('198.51.100.7', 'GET', `Bearer ${TOKEN}`), '/metrics'), { ok: true, who: 'scraper' });
    });

    it('with tokens, a non-loopback client with the right token gets in and one without does not', () => {
      const a = new OpsAuth({ tokens: [{ name: 'oncall', token: TOKEN }], probes: 'loopback' });
      assert.deepEqual(a.decide(fakeReq('198.51.100.7', 'GET', `Bearer ${TOKEN}`), '/api/pools'), { ok: true, who: 'oncall' });
      assert.equal((a.decide(fakeReq('198.51.100.7'), '/api/pools') as { status: number }).status, 401);
    });
  });

  describe('probes on their own listener', () => {
    let server: OpsServer;
    before(async () => {
      const { freeTcpPort } = await import('../../support/redis-server.js');
      server = await startOpsServer('127.0.0.1', 0, sources([]), capturedLogger().log, { tokens: [{ name: 'oncall', token: TOKEN }], probes: 'token', probesPort: await freeTcpPort() });
    });
    after(() => server.close());

    it('serves the probes without a token and nothing else', async () => {
      assert.ok(server.probesUrl);
      assert.equal((await fetch(`${server.probesUrl}/readyz`)).status, 200);
      assert.equal((await fetch(`${server.probesUrl}/metrics`)).status, 200);
      assert.equal((await fetch(`${server.probesUrl}/api/calls`)).status, 404);
      // On the main listener the probes now need the token (ops.probes: token).
      assert.equal((await fetch(`${server.url}/metrics`)).status, 401);
    });
  });
});
