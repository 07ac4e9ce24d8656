import assert from 'node:assert/strict';
import type { Gateway } from '../../../src/boot/gateway.js';
import { leasesOut, startTestGateway } from '../../support/gateway.js';
import { until } from '../../support/wait.js';
import { WebRtcPeer } from '../../../bench/support/webrtc-peer.js';
import { WsSipCaller } from '../../../bench/support/ws-sip-caller.js';

interface Session { username: string; password: string; wsUrl: string; target: string; challenge: string }

async function session(g: Gateway): Promise<{ status: number; body: Session }> {
  const res = await fetch(new URL('/demo/session', g.opsUrl), { method: 'POST' });
  return { status: res.status, body: (await res.json()) as Session };
}

function acquisitions(g: Gateway): number {
  let n = 0;
  for (const set of Object.values(g.pools)) for (const p of set.pools()) n += p.stats().acquisitions;
  return n;
}

/** An Opus-only offer, as a browser told to drop G.711 would send. */
const opusOnly = (sdp: string): string => sdp
  .replace(/^(m=audio \d+ \S+) .*$/m, '$1 111')
  .split('\r\n').filter((l) => !/^a=(rtpmap|fmtp|rtcp-fb):(0|8|126)\b/.test(l)).join('\r\n');

describe('webrtc: Node WebRTC callers through the gateway (SIP over WebSocket + DTLS-SRTP)', function () {
  this.timeout(60_000);
  let g: Gateway;
  const open: Array<{ close(): void }> = [];

  before(async () => {
    g = await startTestGateway({ demo: { maxConcurrentCalls: 2 } });
  });
  afterEach(() => {
    for (const o of open.splice(0)) o.close();
  });
  after(async () => {
    await g?.close();
  });

  async function call(creds: Session, challenge?: string): Promise<{ caller: WsSipCaller; peer: WebRtcPeer; status: number; answer: string }> {
    const peer = new WebRtcPeer(`peer-${Math.random()}`);
    const caller = await WsSipCaller.connect(creds.wsUrl, creds.username, creds.password);
    open.push(peer, caller);
    const r = await caller.invite(creds.target, await peer.offer(), 10_000, challenge);
    if (r.status === 200) peer.answer(r.body);
    return { caller, peer, status: r.status, answer: r.body };
  }

  it('answers PCMU with telephone-event only, DTLS active, with the certificate made at boot; audio flows; BYE returns everything', async () => {
    const { body: creds } = await session(g);
    const a = await call(creds);
    assert.equal(a.status, 200);
    assert.deepEqual(a.caller.inviteTimes.map((t) => t.status), [401, 200], 'without the handed-out challenge: one 401 first');
    assert.match(a.answer, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0 126\r?$/m, 'Opus and PCMA dropped from the answer');
    assert.match(a.answer, /^a=setup:active\r?$/m, 'RFC 5763 §5: the answerer SHOULD be active');
    assert.match(a.answer, /^a=rtcp-mux\r?$/m);
    assert.match(a.answer, /^a=group:BUNDLE 0\r?$/m);
    assert.match(a.answer, /^a=ssrc:\d+ cname:/m);
    const port = Number(/^m=audio (\d+)/m.exec(a.answer)![1]);
    assert.ok(port >= g.config.media.portMin && port <= g.config.media.portMax, `ICE port ${port} from the RTP range`);
    await a.peer.whenOpen();
    // The greeting arrives as SRTP and decrypts.
    await until(() => a.peer.received > 25, 'greeting audio at the caller', 20_000);
    const sender = setInterval(() => a.peer.sendFrame(), 20);
    try {
      await until(() => (g.calls.view().active[0]?.rtp?.received ?? 0) > 25, 'caller audio at the gateway');
    } finally {
      clearInterval(sender);
    }
    const snap = g.calls.view().active[0]!;
    assert.equal(snap.media, 'webrtc');
    assert.equal(snap.codec, 'PCMU');
    assert.equal(a.peer.lost, 0);

    // A second call presents the same DTLS certificate: none is generated per call. It answers the
    // challenge POST /demo/session handed out, so its first INVITE is admitted (no 401 round trip).
    const { body: creds2 } = await session(g);
    const b = await call(creds2, creds2.challenge);
    assert.equal(b.status, 200);
    assert.deepEqual(b.caller.inviteTimes.map((t) => t.status), [200]);
    await b.peer.whenOpen();
    const fp = (sdp: string) => /^a=fingerprint:(.+)$/m.exec(sdp)?.[1]?.trim();
    assert.equal(fp(b.answer), fp(a.answer));

    assert.equal((await a.caller.bye()).status, 200);
    assert.equal((await b.caller.bye()).status, 200);
    await until(() => g.calls.view().active.length === 0, 'both calls ended');
    await until(() => leasesOut(g) === 0, 'every lease back');
    assert.equal(g.pacer.stats().streams, 0);
  });

  it('refuses: no credential (401), a wrong one (403), another number (403), an Opus-only offer (488), over demo.maxConcurrentCalls (486 and 503) — leasing nothing', async () => {
    const { body: creds } = await session(g);
    const before = acquisitions(g);
    const none = await call({ ...creds, username: 'web-none', password: undefined as unknown as string });
    assert.equal(none.status, 401);
    assert.equal((await call({ ...creds, password: 'wrong' })).status, 403);
    assert.equal((await call({ ...creds, password: 'wrong' }, creds.challenge)).status, 403, 'the handed-out challenge does not stand in for the password');
    assert.equal((await call({ ...creds, target: creds.target.replace('sip:demo@', 'sip:+15550001@') })).status, 403);
    assert.equal(acquisitions(g), before, 'nothing leased for refused browsers');

    const peer = new WebRtcPeer('opus');
    const caller = await WsSipCaller.connect(creds.wsUrl, creds.username, creds.password);
    open.push(peer, caller);
    const r = await caller.invite(creds.target, opusOnly(await peer.offer()));
    assert.equal(r.status, 488);
    await until(() => g.calls.view().active.length === 0, 'the refused call gone');
    assert.equal(leasesOut(g), 0);

    const calls = [await call((await session(g)).body), await call((await session(g)).body)];
    assert.deepEqual(calls.map((c) => c.status), [200, 200]);
    assert.equal((await session(g)).status, 503, 'no credential while the demo is full');
    assert.equal((await call(creds)).status, 486, 'a credential issued earlier meets a full demo');
    for (const c of calls) await c.caller.bye();
    await until(() => g.calls.view().active.length === 0 && leasesOut(g) === 0, 'calls ended and leases back');
  });
});
