import assert from 'node:assert/strict';
import type { Gateway } from '../../../src/boot/gateway.js';
import { leasesOut, startTestGateway } from '../../support/gateway.js';
import { until } from '../../support/wait.js';
import { SRTP_PROFILES, WeriftPeer, type SrtpProfileName } from '../../../bench/support/werift-peer.js';
import { WsSipCaller } from '../../../bench/support/ws-sip-caller.js';

interface Session { username: string; password: string; wsUrl: string; target: string; challenge: string }

// The gateway's stack offers AEAD_AES_256_GCM, AEAD_AES_128_GCM and AES_CM_128_HMAC_SHA1_80; the
// browser picks. Each caller here is a werift peer that accepts one profile only, so the call is up
// only if the gateway speaks that profile, and audio flows both ways only if its SRTP does too.
describe('webrtc: both SRTP protection profiles, each forced by a caller that speaks only it (werift)', function () {
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

  for (const profile of ['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80'] as const satisfies readonly SrtpProfileName[]) {
    it(`${profile}: DTLS-SRTP up, the greeting heard, the caller heard, hang-up returns everything`, async () => {
      const res = await fetch(new URL('/demo/session', g.opsUrl), { method: 'POST' });
      const s = (await res.json()) as Session;
      const peer = new WeriftPeer({ srtpProfiles: [profile] });
      const caller = await WsSipCaller.connect(s.wsUrl, s.username, s.password);
      open.push(peer, caller);
      const r = await caller.invite(s.target, await peer.offer(), 10_000, s.challenge);
      assert.equal(r.status, 200);
      await peer.answer(r.body);
      await peer.whenOpen();
      assert.equal(peer.srtpProfile, SRTP_PROFILES[profile], 'the profile DTLS settled on');
      await until(() => peer.received > 25, 'greeting audio decrypted at the caller', 20_000);
      const sender = setInterval(() => peer.sendFrame(), 20);
      try {
        await until(() => (g.calls.view().active[0]?.rtp?.received ?? 0) > 25, 'caller audio decrypted at the gateway');
      } finally {
        clearInterval(sender);
      }
      assert.equal(g.calls.view().active[0]!.media, 'webrtc');
      assert.equal((await caller.bye()).status, 200);
      await until(() => g.calls.view().active.length === 0 && leasesOut(g) === 0, 'call ended and leases back');
      assert.equal(g.pacer.stats().streams, 0);
    });
  }
});
