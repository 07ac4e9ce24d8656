import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type AnalyticsStore } from '../../../src/analytics/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway } from '../../support/gateway.js';
import { Kamailio } from '../../support/kamailio.js';
import { until } from '../../support/wait.js';
import { count } from './helpers.js';

/**
 * The event tables from real peers: a registration with a real Kamailio
 * registrar (digest auth), provider-cap gates, and the pool snapshots beside
 * them, read back from the SQLite file.
 */
describe('analytics: registration and provider-cap events', function () {
  this.timeout(90_000);
  let dir: string;
  let registrar: Kamailio;
  let g: Gateway;
  let reader: AnalyticsStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wl-events-'));
    registrar = new Kamailio();
    await registrar.start();
    const url = `sqlite:${join(dir, 'a.sqlite')}`;
    g = await startTestGateway({
      analytics: { url, flushMs: 100 },
      upstreams: { asr: { concurrencyCap: 6 } },
      registrations: [{ id: 'acct-a', user: 'acct-a', domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: registrar.port }, password: Kamailio.password('acct-a'), expires: 60 }],
    });
    reader = await openStore({ url, dataDir: dir, schema: '' });
    // The gateway migrates in the background: the reader makes sure the tables exist (idempotent).
    await reader.migrate();
  });
  after(async () => {
    await g?.close();
    await reader?.close();
    await registrar?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a registration going up is a row with its state, the registrar status and RTT; a capped pool opening is a lease row', async () => {
    await until(async () => (await count(reader, 'registration_events', "WHERE registration = 'acct-a' AND state = 'registered'")) === 1, 'the registered event', 30_000);
    const [reg] = await reader.query<Record<string, unknown>>("SELECT * FROM registration_events WHERE state = 'registered'");
    assert.equal(reg!.last_status, 200);
    assert.equal(typeof reg!.rtt_ms, 'number');
    assert.notEqual(reg!.previous, 'registered');
    await until(async () => (await count(reader, 'lease_events', "WHERE provider = 'asr-cap'")) >= 1, 'a lease event for the ASR cap');
    const leases = await reader.query<{ kind: string; mode: string; held: number; cap: number }>("SELECT kind, mode, held, cap FROM lease_events WHERE provider = 'asr-cap' ORDER BY at");
    assert.equal(leases[0]!.cap, 6);
    assert.equal(leases[0]!.mode, 'global');
    assert.ok(leases.at(-1)!.held >= g.config.pools.asr.min, `the warm floor holds slots: ${JSON.stringify(leases)}`);
  });
});
