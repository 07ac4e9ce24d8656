import assert from 'node:assert/strict';
import { startLocalUpstreams, type LocalUpstreams } from '../../../src/local/index.js';
import { until, sleep } from '../../support/wait.js';
import { HaproxyMiddlebox } from './haproxy.js';
import { startPools, poolsReady, closePools, leasesOut, type AgentPools } from './agent-harness.js';

/**
 * A real idle-cutting middlebox (HAProxy, TCP mode, every timeout 1.5 s)
 * between the pools and the four upstreams. The pools' keepalives (Deepgram
 * KeepAlive + WebSocket ping, ElevenLabs keepalive, HTTP/2 PING) keep every
 * warm connection through it; a flow the middlebox cuts anyway is replaced
 * out of band, before anyone asks for it.
 */
const IDLE_MS = 1500;

describe('providers: an idle-cutting middlebox (HAProxy) between the pools and the upstreams', function () {
  this.timeout(60_000);
  let up: LocalUpstreams;
  let box: HaproxyMiddlebox;
  let pools: AgentPools | undefined;
  before(async () => {
    up = await startLocalUpstreams();
    box = await HaproxyMiddlebox.start({ asr: up.asr.url, tts: up.tts.url, llm: up.llm.url, crm: up.crm.url }, IDLE_MS);
  });
  after(async () => {
    await box.close();
    await up.close();
  });
  afterEach(async () => {
    if (pools) await closePools(pools);
    pools = undefined;
  });
  const urls = () => ({ asr: box.url('asr', 'wss'), tts: box.url('tts', 'wss'), llm: box.url('llm', 'https'), crm: box.url('crm', 'https') });
  const opened = () => up.asr.stats.connectionsAccepted + up.tts.stats.connectionsAccepted + up.llm.stats.connectionsAccepted + up.crm.stats.connectionsAccepted;

  it('without keepalives the middlebox cuts every idle flow (the hazard is real)', async () => {
    pools = startPools(up, { urls: urls(), keepaliveMs: 0 });
    await poolsReady(pools);
    const closes: string[] = [];
    const note = (name: string) => (c: { cause?: Error }) => closes.push(`${name}: ${c.cause?.message ?? 'by the pool'}`);
    pools.asr.on('close', note('asr'));
    pools.tts.on('close', note('tts'));
    pools.llm.on('close', note('llm'));
    pools.crm.on('close', note('crm'));
    await until(() => new Set(closes.map((c) => c.split(':')[0])).size === 4, 'all four upstreams lose a flow to the idle timeout', 20_000);
  });

  it('with keepalives every warm connection lives through 3 idle timeouts; a cut flow is replaced out of band', async () => {
    pools = startPools(up, { urls: urls(), keepaliveMs: IDLE_MS / 4 });
    await poolsReady(pools);
    const before = opened();
    await sleep(IDLE_MS * 3); // the span under test: three of the middlebox's idle timeouts
    for (const p of Object.values(pools)) {
      const s = p.stats();
      assert.equal(s.replacements, 0, `${s.name} replaced nothing: ${JSON.stringify(s)}`);
      assert.equal(s.keepaliveFailures, 0, `${s.name} keepalives all answered`);
    }
    assert.equal(opened(), before, 'no new connection reached an upstream');

    // The middlebox drops the ASR flows anyway (a failover, a restart): the pool refills with no acquire.
    const asr = pools.asr;
    const size = asr.stats().size;
    const lost: string[] = [];
    asr.on('close', (c) => lost.push(c.cause?.message ?? ''));
    await box.command('shutdown sessions server asr/s1');
    await until(() => lost.length >= size, 'the pool sees every ASR flow cut');
    await until(() => asr.stats().idle === size && asr.stats().replacements >= size, 'replaced out of band', 20_000);
    assert.equal(asr.stats().acquisitions, 0, 'nobody asked: the refill was the pool\'s own');
    const lease = await asr.acquire();
    assert.equal(lease.waited, false, 'the next call gets a warm socket');
    assert.equal(await lease.conn.reset(), true, 'and it answers through the middlebox');
    lease.release();
    await until(() => leasesOut(pools!) === 0, 'every lease back');
  });
});
