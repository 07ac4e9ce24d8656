import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gateway } from '../../../src/boot/gateway.js';
import { leasesOut, startTestGateway } from '../../support/gateway.js';
import { sipp } from '../../support/sipp.js';
import { until } from '../../support/wait.js';

/** Calls (by Call-ID) that received `status` to `method`, in a sipp message trace (`-trace_msg`); retransmissions count once. */
function callsAnswered(trace: string, status: number, method: string): number {
  const ids = new Set<string>();
  for (const chunk of trace.split(/^-{10,}.*$/m)) {
    if (!new RegExp(`^SIP/2\\.0 ${status} `, 'm').test(chunk)) continue;
    if (!new RegExp(`^CSeq:\\s*\\d+ ${method}\\b`, 'im').test(chunk)) continue;
    const id = /^Call-ID:\s*(\S+)/im.exec(chunk)?.[1];
    if (id) ids.add(id);
  }
  return ids.size;
}

/**
 * Issue 9: under a burst (sipp -r 400 -m 800 against the default 200/s, burst
 * 400) 63 BYEs got 503 from the per-source limiter. Scaled to a shared machine:
 * the same shape — twice the limiter's rate for two seconds, every call a
 * zero-length INVITE / ACK / BYE — against a limit of 20/s, burst 40. New
 * INVITEs beyond the limit get 503; no BYE does.
 */
// Scale by environment for a bigger run by hand (BURST_RATE=200 BURST_CALLS=400 BURST_LIMIT=100 npx mocha …): the limit's
// burst is twice its rate, sipp sends at twice the limit's rate, as in the run.
const LIMIT = Number(process.env.BURST_LIMIT ?? 20);
const RATE = Number(process.env.BURST_RATE ?? 2 * LIMIT);
const CALLS = Number(process.env.BURST_CALLS ?? 2 * RATE);

describe('calls: a sipp burst past the rate limit', function () {
  this.timeout(120_000);
  let g: Gateway;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wl-burst-'));
    g = await startTestGateway({ sip: { rate: { perSecond: LIMIT, burst: 2 * LIMIT } }, pools: { asr: { min: 6 } }, media: { rtpTimeoutMs: 30_000 } });
  });
  after(async () => {
    await g.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses new INVITEs with 503 but never a BYE, and every answered call returns its lease at its BYE', async () => {
    const trace = join(dir, 'burst.log');
    const run = sipp(g.sip, ['-sn', 'uac', '-s', '15550001000', '-r', String(RATE), '-m', String(CALLS), '-trace_msg', '-message_file', trace], 90);
    await run.done;
    const log = readFileSync(trace, 'utf8');
    const invite503 = callsAnswered(log, 503, 'INVITE');
    const bye503 = callsAnswered(log, 503, 'BYE');
    const bye200 = callsAnswered(log, 200, 'BYE');
    console.log(`      burst (sipp -r ${RATE} -m ${CALLS}, limit ${LIMIT}/s burst ${2 * LIMIT}): ${invite503} INVITEs refused with 503, ${bye200} BYEs answered 200, ${bye503} BYEs refused with 503`);
    assert.ok(invite503 > 0, 'the burst went past the limit (else this test proves nothing)');
    assert.ok(bye200 > 0, 'some calls were answered and hung up');
    assert.equal(bye503, 0, 'no BYE was refused by the rate limit');
    // Every call that was answered ended at its BYE, not at the 30 s RTP timeout.
    await until(() => g.calls.activeCount === 0 && leasesOut(g) === 0, 'every call ended and every lease back', 10_000);
    assert.equal(g.calls.view().totals.ended['rtp-timeout'] ?? 0, 0);
  });
});
