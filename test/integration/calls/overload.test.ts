import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Gateway } from '../../../src/boot/gateway.js';
import { leasesOut, startTestGateway } from '../../support/gateway.js';
import { sipp, type SippRun } from '../../support/sipp.js';
import { until } from '../../support/wait.js';

const SCENARIOS = fileURLToPath(new URL('./scenarios/', import.meta.url));
/** Below the blocker's 400 ms by a wide margin, so the median tick of a blocked window is past it however the machine schedules. */
const MARK_MS = 200;

/** A UDP port free a moment ago, for sipp to bind: the test must know where to send the INFO that releases its BYE. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** An out-of-nowhere INFO carrying the call's Call-ID: sipp matches it to the call, whose scenario then sends its BYE. */
async function releaseBye(port: number, callId: string): Promise<void> {
  const s = createSocket('udp4');
  const msg = [
    `INFO sip:sipp@127.0.0.1:${port} SIP/2.0`, 'Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKoverloadtest', 'Max-Forwards: 70',
    'From: <sip:test@127.0.0.1>;tag=t', 'To: <sip:sipp@127.0.0.1>;tag=s', `Call-ID: ${callId}`, 'CSeq: 1 INFO', 'Content-Length: 0', '', '',
  ].join('\r\n');
  await new Promise<void>((resolve, reject) => s.send(msg, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  s.close();
}

async function opsCalls(g: Gateway): Promise<{ overload: { overloaded: boolean; refused: { invite: number } } }> {
  const res = await fetch(`${g.opsUrl}/api/calls`);
  assert.equal(res.status, 200);
  return await res.json() as { overload: { overloaded: boolean; refused: { invite: number } } };
}

/**
 * A saturated gateway refuses new calls instead of answering them after the caller gave up:
 * its event loop is made to lag on purpose (a timer that busy-waits 400 ms, again and again), a
 * new INVITE from sipp gets 503 with Retry-After, the BYE of a call admitted before still gets
 * 200, and once the lag stops and the guard clears a new call is answered again.
 */
describe('calls: the overload guard under a lagging event loop, against sipp', function () {
  this.timeout(120_000);
  let g: Gateway;
  let blocker: NodeJS.Timeout | undefined;
  const runs: SippRun[] = [];

  before(async () => {
    g = await startTestGateway({ calls: { overload: { maxLoopDelayMs: MARK_MS, retryAfterS: 7 } }, media: { rtpTimeoutMs: 30_000 } });
  });
  afterEach(() => {
    clearInterval(blocker);
    for (const r of runs.splice(0)) if (r.child.exitCode === null) r.child.kill();
  });
  after(async () => {
    await g?.close();
  });

  it('503 + Retry-After to a new INVITE and 200 to an admitted call\'s BYE while lagging; 200 to a new INVITE once it has cleared', async () => {
    assert.equal(g.overload.overloaded, false, 'a quiet gateway is not overloaded');
    const port = await freeUdpPort();
    const admitted = sipp(g.sip, ['-sf', `${SCENARIOS}call-info-bye.xml`, '-s', '15550001000', '-m', '1', '-p', String(port)]);
    runs.push(admitted);
    await until(() => g.calls.view().active.some((c) => c.state === 'active'), 'the first call answered');
    const callId = g.calls.view().active[0]!.callId;

    blocker = setInterval(() => {
      const end = performance.now() + 400;
      while (performance.now() < end) { /* the event loop lags on purpose: a saturated gateway's */ }
    }, 1);
    await until(() => g.overload.overloaded, 'the guard tripped', 30_000);
    assert.equal((await opsCalls(g)).overload.overloaded, true, '/api/calls says overloaded');

    const refused = sipp(g.sip, ['-sf', `${SCENARIOS}invite-503.xml`, '-s', '15550001000', '-m', '1']);
    runs.push(refused);
    const r = await refused.done;
    assert.equal(r.code, 0, `the new INVITE got 503 with Retry-After: 7:\n${r.out.slice(-2000)}`);

    await releaseBye(port, callId);
    const a = await admitted.done;
    assert.equal(a.code, 0, `the admitted call's BYE got 200:\n${a.out.slice(-2000)}`);
    assert.equal(g.overload.overloaded, true, 'both answers came while overloaded');
    assert.equal(g.calls.view().recent.find((c) => c.callId === callId)?.endReason, 'bye');
    assert.ok(g.overload.view().refused.invite >= 1);
    assert.match(await g.registry.metrics(), /^warmline_overload_refused_total\{what="invite"\} [1-9]/m);

    clearInterval(blocker);
    blocker = undefined;
    await until(() => !g.overload.overloaded, 'the guard cleared once the lag stopped', 30_000);
    assert.equal((await opsCalls(g)).overload.overloaded, false);
    const after = sipp(g.sip, ['-sn', 'uac', '-s', '15550001000', '-m', '1']);
    runs.push(after);
    const c = await after.done;
    assert.equal(c.code, 0, `a new call was answered (200) and hung up:\n${c.out.slice(-2000)}`);
    await until(() => g.calls.activeCount === 0 && leasesOut(g) === 0, 'every call ended and every lease back');
  });
});
