import assert from 'node:assert/strict';
import { Synthesizer } from '../../../src/local/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import { RedisServer } from '../../support/redis-server.js';
import { startTestGateway, leasesOut } from '../../support/gateway.js';
import { RawUac } from '../../support/sip-uac.js';
import { RtpPeer } from '../../support/rtp-peer.js';
import { until } from '../../support/wait.js';

const silence = (ms: number) => Buffer.alloc((ms * 8000) / 1000, 0xff);

type Gate = { provider: string; mode: string; held: number; localCap: number };

/**
 * The lease store goes away in the middle of a call: the call goes on, the
 * capped pools fall back to their local share with a loud warning, and when
 * Redis is back the slots are re-taken against the global cap.
 */
describe('topology: Redis outage under a call', function () {
  this.timeout(90_000);
  const redis = new RedisServer();
  let g: Gateway;

  before(async () => {
    await redis.start();
    g = await startTestGateway({
      upstreams: { asr: { concurrencyCap: 4 }, tts: { concurrencyCap: 4 } },
      leases: { store: 'redis', redisUrl: redis.url, ttlMs: 1500, localShare: 0.5 },
      media: { rtpTimeoutMs: 4000 },
    });
  });
  after(async () => {
    await g?.close();
    await redis.dispose();
  });

  const replica = async () => (await (await fetch(`${g.opsUrl}/api/replica`)).json()) as { gates: Gate[] };
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${g.opsUrl}/metrics`)).text())?.[1]);

  it('a call in progress keeps talking through the outage; caps go local, then global again', async () => {
    const uac = await RawUac.bind();
    const peer = await RtpPeer.bind();
    try {
      const start = (await replica()).gates;
      assert.ok(start.length === 2 && start.every((x) => x.mode === 'global'), JSON.stringify(start));
      assert.equal((await uac.invite(g.sip, '+15551230000', [[0, 'PCMU']])).status, 200);
      await until(() => g.calls.view().active[0]?.localPort !== undefined, 'call up');
      peer.target('127.0.0.1', g.calls.view().active[0]!.localPort!);
      let talking = true;
      const keep = (async () => { while (talking) await peer.send(silence(200)); })();
      await until(() => (g.calls.view().active[0]?.turns.length ?? 0) >= 1, 'greeting done', 30_000);

      await redis.kill();
      await until(async () => (await metric('warmline_lease_store_degraded')) === 1, 'degraded reported', 20_000);
      const during = (await replica()).gates;
      assert.ok(during.every((x) => x.mode === 'local'), JSON.stringify(during));
      assert.ok(during.every((x) => x.held > 0), 'slots already open are kept');

      // The caller speaks during the outage and is answered.
      talking = false;
      await keep;
      await peer.send(await new Synthesizer().synthesize('Are you still there?'));
      talking = true;
      const keep2 = (async () => { while (talking) await peer.send(silence(200)); })();
      await until(() => (g.calls.view().active[0]?.turns.length ?? 0) >= 2, 'a reply during the outage', 30_000);
      assert.ok(g.calls.view().active[0]!.turns[1]!.marks.firstRtpOut !== undefined);

      await redis.start();
      await until(async () => (await replica()).gates.every((x) => x.mode === 'global'), 'caps global again', 20_000);
      await until(async () => (await metric('warmline_lease_store_degraded')) === 0, 'recovered reported', 20_000);
      assert.equal(g.calls.activeCount, 1, 'the call never dropped');
      talking = false;
      await keep2;
      await until(() => g.calls.activeCount === 0, 'released on RTP timeout', 20_000);
      await until(() => leasesOut(g) === 0, 'leases back');
    } finally {
      peer.close();
      uac.close();
    }
  });
});
