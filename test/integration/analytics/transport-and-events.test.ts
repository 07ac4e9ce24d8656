import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type AnalyticsStore } from '../../../src/analytics/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway } from '../../support/gateway.js';
import { Kamailio } from '../../support/kamailio.js';
import { sipp } from '../../support/sipp.js';
import { until } from '../../support/wait.js';
import { WebRtcPeer } from '../../../bench/support/webrtc-peer.js';
import { WsSipCaller } from '../../../bench/support/ws-sip-caller.js';
import { count, SCENARIOS } from './helpers.js';

interface RegRow { registration: string; state: string; previous: string | null; at: number; last_status: number | null }
interface LeaseRow { kind: string; mode: string; held: number; cap: number; at: number }

/**
 * Issue 16's gaps: a call's `transport` says how it came (`sip/udp`, `sip/tcp`,
 * `webrtc` for a browser), and registration and provider-cap rows are written
 * when the change happens — not when a once-a-second sample notices it — so a
 * registration that fails within one round trip still has both of its states,
 * a refused slot is a `cap-hit` row, and a drain leaves `released` rows.
 */
describe('analytics: call transport, and registration and cap rows as they happen', function () {
  this.timeout(120_000);
  let dir: string;
  let url: string;
  let registrar: Kamailio;
  let g: Gateway | undefined;
  let reader: AnalyticsStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wl-transport-'));
    registrar = new Kamailio();
    await registrar.start();
    url = `sqlite:${join(dir, 'a.sqlite')}`;
    g = await startTestGateway({
      analytics: { url, flushMs: 100 },
      sip: { transports: ['udp', 'tcp'] },
      upstreams: { asr: { concurrencyCap: 3 } },
      registrations: [
        { id: 'good', user: 'good', domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: registrar.port }, password: Kamailio.password('good'), expires: 60 },
        { id: 'badpw', user: 'badpw', domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: registrar.port }, password: 'not-the-password', expires: 60 },
      ],
    });
    reader = await openStore({ url, dataDir: dir, schema: '' });
    await reader.migrate();
  });
  after(async () => {
    await g?.close();
    await reader?.close();
    await registrar?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a carrier call over UDP is sip/udp, over TCP sip/tcp; a browser call is webrtc', async () => {
    const gw = g!;
    for (const transport of ['u1', 't1']) {
      const r = await sipp(gw.sip, ['-sf', `${SCENARIOS}call-hold-bye.xml`, '-t', transport, '-s', '15550001000', '-mp', '0', '-d', '1200', '-m', '1']).done;
      assert.equal(r.code, 0, r.out.slice(-2000));
    }
    const res = await fetch(new URL('/demo/session', gw.opsUrl), { method: 'POST' });
    const creds = (await res.json()) as { username: string; password: string; wsUrl: string; target: string };
    const peer = new WebRtcPeer('analytics-transport');
    const caller = await WsSipCaller.connect(creds.wsUrl, creds.username, creds.password);
    try {
      const r = await caller.invite(creds.target, await peer.offer());
      assert.equal(r.status, 200);
      peer.answer(r.body);
      await peer.whenOpen();
      assert.equal((await caller.bye()).status, 200);
    } finally {
      caller.close();
      peer.close();
    }
    await until(async () => (await count(reader, 'calls')) >= 3, 'three call rows', 30_000);
    const rows = await reader.query<{ transport: string }>('SELECT transport FROM calls ORDER BY started_at');
    assert.deepEqual(rows.map((r) => r.transport), ['sip/udp', 'sip/tcp', 'webrtc']);
  });

  it('registrations: every state change is a row at the moment it happened, one that fails within a round trip included', async () => {
    await until(async () => (await count(reader, 'registration_events', "WHERE registration = 'good' AND state = 'registered'")) === 1, 'good registered', 30_000);
    await until(async () => (await count(reader, 'registration_events', "WHERE registration = 'badpw' AND state IN ('failed', 'backoff')")) >= 1, 'badpw refused', 30_000);
    const rows = await reader.query<RegRow>("SELECT registration, state, previous, at, last_status FROM registration_events ORDER BY at");
    for (const id of ['good', 'badpw']) {
      const mine = rows.filter((r) => r.registration === id);
      // A chain with no gap: each row's previous is the row before it.
      for (let i = 1; i < mine.length; i++) assert.equal(mine[i]!.previous, mine[i - 1]!.state, `${id}: ${JSON.stringify(mine)}`);
      const registering = mine.find((r) => r.state === 'registering');
      assert.ok(registering, `${id}: the short 'registering' state has its row: ${JSON.stringify(mine)}`);
      const next = mine[mine.indexOf(registering) + 1]!;
      // Written when it happened: one REGISTER exchange apart on loopback, not a sampling tick.
      assert.ok(next.at - registering.at < 900, `${id}: ${next.state} ${next.at - registering.at} ms after registering`);
    }
    const bad = rows.filter((r) => r.registration === 'badpw').at(-1)!;
    assert.ok(bad.last_status === 401 || bad.last_status === 403, JSON.stringify(bad));
  });

  it('a provider cap: a refused slot is one cap-hit row with the cap full, not one per refusal', async () => {
    const gw = g!;
    const floor = await fetch(new URL('/api/admin/pools/asr/floor', gw.opsUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ min: 5 }) });
    assert.equal(floor.status, 200, await floor.text());
    await until(async () => (await count(reader, 'lease_events', "WHERE provider = 'asr-cap' AND kind = 'cap-hit'")) >= 1, 'a cap-hit row', 30_000);
    const rows = await reader.query<LeaseRow>("SELECT kind, mode, held, cap, at FROM lease_events WHERE provider = 'asr-cap' ORDER BY at");
    const hit = rows.find((r) => r.kind === 'cap-hit')!;
    assert.equal(hit.cap, 3);
    assert.equal(hit.held, 3, JSON.stringify(rows));
    assert.ok(rows.some((r) => r.kind === 'held'), 'slots taken are rows too');
    // The pool keeps retrying its floor against the full cap: still one cap-hit while no slot frees.
    const refusals = () => gw.pools.asr.pools().reduce((n, p) => n + p.stats().capRefusals, 0);
    const seen = refusals();
    await until(() => refusals() >= seen + 2, 'two more refused retries of the floor', 10_000);
    assert.equal(await count(reader, 'lease_events', "WHERE provider = 'asr-cap' AND kind = 'cap-hit'"), 1);
  });

  it('drain: each registration this replica refreshed is released, and that is a row', async () => {
    await g!.close();
    g = undefined;
    const released = await reader.query<RegRow>("SELECT registration, state, previous FROM registration_events WHERE state = 'released' ORDER BY registration");
    assert.deepEqual(released.map((r) => r.registration), ['badpw', 'good']);
    assert.equal(released.find((r) => r.registration === 'good')!.previous, 'registered');
  });
});
