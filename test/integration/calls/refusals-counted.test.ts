import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Gateway } from '../../../src/boot/gateway.js';
import { leasesOut, startTestGateway } from '../../support/gateway.js';
import { RawUac } from '../../support/sip-uac.js';
import { until } from '../../support/wait.js';

/**
 * Issue 9: an INVITE refused during setup (488, or 503 with no ASR socket)
 * left totals.refused at 0 and never reached warmline_calls_refused_total.
 * Every refusal is now counted with its status, whichever stage made it:
 * the UA core (420), the call manager (404) or the call's setup (488, 503).
 * (An INVITE without SDP is no longer refused: it is a delayed offer, RFC 3264 §5.)
 */
describe('calls: every refused INVITE is counted with its status', function () {
  this.timeout(60_000);
  let g: Gateway;
  let uac: RawUac;

  before(async () => {
    g = await startTestGateway({
      routes: [{ did: '+1555*', agent: 'receptionist' }],
      // One ASR socket, held by the first call: the next call's setup waits 300 ms for one and is refused.
      pools: { asr: { min: 1, max: 1, acquireTimeoutMs: 300 } },
      media: { rtpTimeoutMs: 30_000 },
    });
    uac = await RawUac.bind();
  });
  after(async () => {
    uac.close();
    await g.close();
  });

  async function refusedMetric(): Promise<Record<string, number>> {
    const text = await g.registry.metrics();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^warmline_calls_refused_total\{status="(\d+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
    return out;
  }

  /** An INVITE sipp would not send: it requires preconditions (RFC 3312), which we do not support. */
  async function inviteRequiringPreconditions(): Promise<number> {
    const callId = randomBytes(6).toString('hex');
    const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
    uac.send([
      `INVITE sip:+15551230000@${g.sip.address}:${g.sip.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${uac.port};branch=z9hG4bK${callId};rport`,
      'Max-Forwards: 70', `From: <sip:+15550000001@127.0.0.1>;tag=${callId}`, `To: <sip:+15551230000@${g.sip.address}>`,
      `Call-ID: ${callId}`, 'CSeq: 1 INVITE', `Contact: <sip:c@127.0.0.1:${uac.port}>`, 'Require: precondition',
      'Content-Type: application/sdp', `Content-Length: ${sdp.length}`, '', sdp,
    ].join('\r\n'), g.sip);
    let status = 0;
    await until(() => {
      status = uac.responses.find((r) => r.header('call-id') === callId && r.status >= 200)?.status ?? 0;
      return status > 0;
    }, 'the answer to the precondition INVITE');
    return status;
  }

  it('404, 420, 488 (no common codec, twice) and 503 (no ASR socket) each count once under their status', async () => {
    assert.equal((await uac.invite(g.sip, '+4420712345')).status, 404);
    assert.equal(await inviteRequiringPreconditions(), 420);
    assert.equal((await uac.invite(g.sip, '+15551230000', [[18, 'G729']])).status, 488);
    assert.equal((await uac.invite(g.sip, '+15551230000', [[9, 'G722']])).status, 488);
    assert.equal((await uac.invite(g.sip, '+15551230001')).status, 200, 'the first call takes the only ASR socket');
    assert.equal((await uac.invite(g.sip, '+15551230002')).status, 503, 'no ASR socket within the wait');
    const view = g.calls.view();
    assert.equal(view.totals.refused, 5);
    assert.equal(view.totals.answered, 1);
    assert.deepEqual(await refusedMetric(), { 404: 1, 420: 1, 488: 2, 503: 1 });
    assert.ok(g.calls.hangup(view.active[0]!.id));
    await until(() => g.calls.activeCount === 0 && leasesOut(g) === 0, 'the call ended and its lease back');
  });
});
