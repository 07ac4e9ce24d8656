import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { startGateway, type Gateway } from '../../../src/boot/gateway.js';
import { loadConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/log.js';
import type { AgentUpstreams } from '../../../src/agent/index.js';
import type { Lease, LeaseSource, PooledConnection } from '../../../src/pools/index.js';
import type { Route } from '../../../src/calls/index.js';
import { until } from '../../support/wait.js';
import { VanishPeer } from '../vanish/peer.js';

interface Held { rtpPorts: number; pacerStreams: number; leases: number }

/**
 * Issue 10: the Call owns its leases. The agent acquires through the call's
 * ledger, and the call's one end() returns every lease, its RTP port and its
 * pacer stream whichever way it ends: BYE, CANCEL (while its ASR socket is
 * still being acquired), RTP timeout, drain, and an agent that fails
 * unexpectedly in the middle of a turn, holding a lease it never returns.
 */
describe('calls: a call ended any way returns every lease, port and pacer stream', function () {
  this.timeout(60_000);
  let g: Gateway;
  /** ASR acquisitions for calls whose caller is +15559990000 wait here until released. */
  let asrGate: (() => void) | undefined;
  /** The next LLM lease taken for a call makes the agent fail (its acquireMs getter throws). */
  let crashNextTurn = false;

  before(async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        server: { httpPort: 0 }, sip: { port: 0 }, log: { level: 'silent' },
        media: { portMin: 47000, portMax: 47199, rtpTimeoutMs: 1500 },
        agents: { receptionist: { greeting: '' } },
      },
    });
    // The gateway's documented seam for where calls lease from (bench:turn uses it): the real pools,
    // with two faults a test needs and no stub of our own code: a slow ASR pool, an LLM lease that breaks the agent.
    let pools: ((route: Route) => AgentUpstreams) | undefined;
    g = await startGateway(config, {
      log: createLogger('silent'),
      registry: new Registry(),
      agentUpstreams: (route) => {
        const real = pools!(route);
        return { ...real, asr: slowAsr(real.asr), llm: breakingLlm(real.llm) };
      },
    });
    pools = (route) => ({
      asr: g.pools.asr.get(g.factories.asr(route.profile.language || config.upstreams.asr.language)),
      tts: g.pools.tts.get(g.factories.tts(route.profile.voiceId || config.upstreams.tts.voiceId)),
      llm: g.pools.llm.get(g.factories.llm()),
      crm: g.pools.crm.get(g.factories.crm()),
    });
    await g.whenReady();
  });
  after(async () => {
    await g.close();
  });

  function slowAsr<C extends PooledConnection>(src: LeaseSource<C>): LeaseSource<C> {
    return {
      acquire: async (o) => {
        if (asrGate === undefined) return src.acquire(o);
        await new Promise<void>((resolve) => { const prev = asrGate!; asrGate = () => { prev(); resolve(); }; });
        return src.acquire(o);
      },
    };
  }
  function breakingLlm<C extends PooledConnection>(src: LeaseSource<C>): LeaseSource<C> {
    return {
      acquire: async (o) => {
        const lease = await src.acquire(o);
        if (!crashNextTurn) return lease;
        crashNextTurn = false;
        // A lease the agent cannot read: a bug outside the turn's error handling, with the real lease out.
        return new Proxy(lease, {
          get: (t, p) => {
            if (p === 'acquireMs') throw new TypeError('agent bug');
            const v: unknown = Reflect.get(t, p, t);
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
          },
        }) as Lease<C>;
      },
    };
  }

  const held = async (): Promise<Held> => ((await (await fetch(`${g.opsUrl}/api/calls`)).json()) as { held: Held }).held;
  async function released(reason: string): Promise<void> {
    await until(async () => {
      const h = await held();
      return g.calls.activeCount === 0 && h.leases === 0 && h.rtpPorts === 0 && h.pacerStreams === 0;
    }, `everything released after ${reason} (${JSON.stringify(await held())})`);
    assert.equal(g.calls.view().recent[0]!.endReason, reason);
  }
  async function callUp(): Promise<{ p: VanishPeer; ok: Awaited<ReturnType<VanishPeer['response']>> }> {
    const p = await VanishPeer.open('udp', g.sip);
    p.invite();
    const ok = await p.response(200);
    p.inDialog('ACK', ok, { cseq: 1 });
    await until(async () => (await held()).leases > 0 && (await held()).pacerStreams > 0, 'the call holds its ASR lease and pacer stream');
    return { p, ok };
  }

  it('BYE', async () => {
    const { p, ok } = await callUp();
    p.inDialog('BYE', ok);
    await p.response(200, 'BYE');
    await p.vanish();
    await released('bye');
  });

  it('CANCEL while the ASR socket is still being acquired', async () => {
    asrGate = () => undefined;
    const p = await VanishPeer.open('udp', g.sip);
    const invite = p.invite();
    await until(async () => (await held()).rtpPorts > 0, 'setup under way (RTP port taken)');
    p.cancel(invite);
    await p.response(487);
    const open = asrGate;
    asrGate = undefined;
    open(); // the acquisition completes after the call ended: the ledger sends the lease straight back
    await p.vanish();
    await released('cancel');
  });

  it('RTP timeout', async () => {
    const { p } = await callUp();
    await p.request('BYE');
    await p.vanish();
    await released('rtp-timeout');
  });

  it('an agent that fails in the middle of a turn, holding an LLM lease', async () => {
    const { p, ok } = await callUp();
    crashNextTurn = true;
    p.inDialog('INFO', ok, { contentType: 'application/dtmf-relay', body: 'Signal=5\r\nDuration=100\r\n' });
    await p.vanish();
    await released('agent-failed');
  });

  it('drain (last: the replica takes no new call after it)', async () => {
    const { p } = await callUp();
    await g.calls.drain(0);
    await p.vanish();
    await released('shutdown');
  });
});
