import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { OverloadGuard, OverloadedError, eventLoopDelaySource, type DelaySource, type DelayWindow } from '../../../src/calls/index.js';
import { callsApiRoutes } from '../../../src/http/calls-api.js';
import { createLogger } from '../../../src/log.js';
import { sleep, until } from '../../support/wait.js';

const MARK = 500;
const lag = (p50Ms: number, maxMs = p50Ms): DelayWindow => ({ samples: 20, p50Ms, maxMs });
const quiet = lag(1, 5);
const empty: DelayWindow = { samples: 0, p50Ms: 0, maxMs: 0 };

const invite = { method: 'INVITE', to: {} };
const inDialog = (method: string) => ({ method, to: { tag: 'gw-tag' } });

function guard(o: { maxLoopDelayMs?: number; registry?: Registry } = {}): OverloadGuard {
  return new OverloadGuard({ maxLoopDelayMs: o.maxLoopDelayMs ?? MARK, retryAfterS: 7, ...(o.registry && { registry: o.registry }) });
}

function tripped(g: OverloadGuard): OverloadGuard {
  for (let i = 0; i < 3; i++) g.observe(lag(900));
  assert.equal(g.overloaded, true);
  return g;
}

async function metric(registry: Registry, line: RegExp): Promise<number | undefined> {
  const m = line.exec(await registry.metrics());
  return m ? Number(m[1]) : undefined;
}

describe('calls: the overload guard decides from event-loop delay windows', () => {
  it('trips only after three windows in a row whose median tick lags past the mark; a lone spike or an interrupted streak does not', () => {
    const g = guard();
    g.observe(lag(MARK));
    g.observe(lag(MARK));
    assert.equal(g.overloaded, false, 'two windows are not enough');
    g.observe(quiet);
    g.observe(lag(900));
    g.observe(lag(900));
    assert.equal(g.overloaded, false, 'the quiet window between broke the streak');
    // A GC pause or one synchronous synthesis: one tick late by seconds, the median on time.
    for (let i = 0; i < 5; i++) g.observe(lag(3, 2000));
    assert.equal(g.overloaded, false, 'spikes in the worst tick alone never trip');
    for (let i = 0; i < 5; i++) g.observe(lag(MARK - 1));
    assert.equal(g.overloaded, false, 'just below the mark');
    g.observe(lag(MARK));
    g.observe(lag(MARK));
    g.observe(empty);
    assert.equal(g.overloaded, false);
    g.observe(lag(MARK + 100));
    assert.equal(g.overloaded, true, 'an empty window carries no evidence: the streak goes on');
  });

  it('clears only after a whole window whose worst tick stays below half the mark, and trips again only after three more', () => {
    const g = tripped(guard());
    g.observe(lag(MARK / 2 - 1, MARK / 2));
    assert.equal(g.overloaded, true, 'the worst tick at the lower mark holds it');
    g.observe(lag(10, 400));
    assert.equal(g.overloaded, true, 'median fine, one tick late by 400 ms: still held (no flapping at the edge)');
    g.observe(empty);
    assert.equal(g.overloaded, true, 'an empty window clears nothing');
    g.observe(lag(5, MARK / 2 - 1));
    assert.equal(g.overloaded, false);
    assert.equal(g.view().since, undefined);
    g.observe(lag(900));
    g.observe(lag(900));
    assert.equal(g.overloaded, false, 'two lagging windows after clearing do not trip again');
    g.observe(lag(900));
    assert.equal(g.overloaded, true);
    assert.equal(g.view().trips, 2);
  });

  it('while overloaded refuses new INVITEs with 503 and the configured Retry-After, passes in-dialog requests and CANCEL, and refuses dials with WL_ERR_OVERLOADED', () => {
    const g = guard();
    assert.equal(g.filter(invite), undefined, 'not overloaded: accepted');
    assert.doesNotThrow(() => g.checkDial());
    tripped(g);
    assert.deepEqual(g.filter(invite), { status: 503, reason: 'Service Unavailable (overloaded)', headers: { 'Retry-After': '7' } });
    for (const m of ['INVITE', 'BYE', 'ACK', 'PRACK', 'INFO', 'NOTIFY', 'UPDATE', 'REFER']) assert.equal(g.filter(inDialog(m)), undefined, `in-dialog ${m} passes`);
    for (const m of ['CANCEL', 'OPTIONS', 'BYE']) assert.equal(g.filter({ method: m, to: {} }), undefined, `out-of-dialog ${m} passes`);
    assert.throws(() => g.checkDial(), (err: unknown) => {
      assert.ok(err instanceof OverloadedError);
      assert.equal(err.code, 'WL_ERR_OVERLOADED');
      assert.equal(err.context.retryAfterS, 7);
      assert.equal(err.context.delayMs, 900);
      return true;
    });
    assert.deepEqual(g.view().refused, { invite: 1, dial: 1 });
  });

  it('maxLoopDelayMs 0 turns it off: no timer, never overloaded', () => {
    const g = guard({ maxLoopDelayMs: 0 });
    let made = 0;
    const off = new OverloadGuard({ maxLoopDelayMs: 0, retryAfterS: 5, source: () => { made++; return { take: () => lag(5000), stop: () => undefined }; } });
    off.start();
    assert.equal(made, 0, 'no delay source made');
    off.stop();
    for (let i = 0; i < 5; i++) g.observe(lag(10_000));
    assert.equal(g.overloaded, false);
    assert.equal(g.filter(invite), undefined);
    assert.equal(g.view().enabled, false);
  });

  it('shows its state as metrics: active, the last window\'s delay, refusals by what, trips', async () => {
    const registry = new Registry();
    const g = guard({ registry });
    assert.equal(await metric(registry, /^warmline_overload_active (\d+)$/m), 0);
    tripped(g);
    g.filter(invite);
    g.filter(invite);
    assert.throws(() => g.checkDial());
    assert.equal(await metric(registry, /^warmline_overload_active (\d+)$/m), 1);
    assert.equal(await metric(registry, /^warmline_overload_loop_delay_seconds\{stat="p50"\} ([\d.]+)$/m), 0.9);
    assert.equal(await metric(registry, /^warmline_overload_refused_total\{what="invite"\} (\d+)$/m), 2);
    assert.equal(await metric(registry, /^warmline_overload_refused_total\{what="dial"\} (\d+)$/m), 1);
    assert.equal(await metric(registry, /^warmline_overload_trips_total (\d+)$/m), 1);
  });

  it('reads its injected source once per window on an unref\'d timer, and stop() stops the source and refuses nothing more', async () => {
    const script = [lag(900), lag(900), lag(900)];
    let taken = 0;
    let stopped = 0;
    const source: DelaySource = { take: () => { taken++; return script.shift() ?? lag(900); }, stop: () => { stopped++; } };
    const g = new OverloadGuard({ maxLoopDelayMs: MARK, retryAfterS: 5, windowMs: 5, source: () => source });
    g.start();
    g.start();
    await until(() => g.overloaded, 'the guard tripped from its source', 5000);
    g.stop();
    const after = taken;
    assert.equal(stopped, 1);
    assert.equal(g.overloaded, false);
    assert.equal(g.filter(invite), undefined);
    await sleep(30);
    assert.equal(taken, after, 'no read after stop');
  });

  it('a window the histogram left empty because the loop was blocked past it counts the tick timer\'s own lateness', () => {
    let now = 0;
    const g = new OverloadGuard({ maxLoopDelayMs: MARK, retryAfterS: 5, windowMs: 500, now: () => now, source: () => ({ take: () => empty, stop: () => undefined }) });
    g.start();
    for (let i = 0; i < 3; i++) {
      now += 500 + 800;
      g.tick();
    }
    assert.equal(g.overloaded, true);
    assert.equal(g.view().loopDelayMs.max, 800);
    now += 500;
    g.tick();
    assert.equal(g.overloaded, true, 'an empty window on time is no evidence either way');
    g.stop();
  });

  it('the perf_hooks source reports a blocked loop as delay beyond its resolution', async () => {
    const s = eventLoopDelaySource(10);
    try {
      await sleep(30);
      s.take();
      await sleep(30);
      const end = Date.now() + 120;
      while (Date.now() < end) { /* the loop is blocked on purpose */ }
      await sleep(30);
      const w = s.take();
      assert.ok(w.samples > 0);
      assert.ok(w.maxMs >= 90 && w.maxMs < 5000, `max ${w.maxMs} ms after a 120 ms block`);
      assert.ok(w.p50Ms < w.maxMs, 'most ticks were on time');
    } finally {
      s.stop();
    }
  });
});

describe('http: POST /api/calls while overloaded', () => {
  let server: Server;
  let url: string;
  before(async () => {
    const err = new OverloadedError({ delayMs: 900, maxLoopDelayMs: MARK, retryAfterS: 7 });
    const routes = callsApiRoutes({ dial: () => Promise.reject(err), get: () => undefined, hangup: () => Promise.resolve(false) }, createLogger('silent'));
    server = createServer((req, res) => { void routes(req, res).catch(() => res.destroy()); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/calls`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers 503 with Retry-After and the code WL_ERR_OVERLOADED', async () => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: '+15551230000', trunk: 't' }) });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '7');
    const body = await res.json() as { code: string; error: string };
    assert.equal(body.code, 'WL_ERR_OVERLOADED');
    assert.match(body.error, /overloaded: the event loop lags 900 ms/);
  });
});
