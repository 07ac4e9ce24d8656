import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kamailio, freeUdpPort } from '../../support/kamailio.js';
import { startReplica, type Replica } from '../../support/replica.js';
import { until } from '../../support/wait.js';
import { PasswordRedis, UdpSender, mediaBase, spawnLogged } from './peers.js';

const SCENARIO = fileURLToPath(new URL('../calls/scenarios/call-hold-bye.xml', import.meta.url));
const DISPATCHER_CFG = fileURLToPath(new URL('../../../config/kamailio/dispatcher.cfg', import.meta.url));
const CARRIER = '127.0.0.2';
const STRANGER = '127.0.0.66';
const FLOODER = '127.0.0.67';
const FORGER = '127.0.0.68';
// A listed carrier whose traffic runs wild (or someone spoofing its address): pike's case.
const WILD_CARRIER = '127.0.0.3';
const REDIS_PASSWORD = 'redis-pw-7c1e9a3b5d';
// Long, so that the "told once" checks rarely straddle a window's end (windows follow the clock,
// $Ts / REFUSE_S); when one does, windowsBetween() allows the second 403 it earns.
const REFUSE_S = 120;
const REFUSE_PER_S = 20;
/** How many `s`-second windows of the clock (as Kamailio's $Ts counts them) [from, to] touches. */
const windowsBetween = (from: number, to: number, s: number) => Math.floor(to / 1000 / s) - Math.floor(from / 1000 / s) + 1;

type CallsView = { totals: { answered: number; refused: number } };
type ReplicaView = { store: string; gates: Array<{ provider: string; mode: string; held: number }> };
const api = async <T>(r: Replica, path: string): Promise<T> => (await (await fetch(`${r.url}${path}`)).json()) as T;

/** sipp as a carrier from `from` (a 127/8 address): its exit code 0 means every call succeeded. */
function carrierCalls(from: string, to: { address: string; port: number }, calls: number, rate: number): Promise<{ code: number | null; out: string }> {
  const child = spawn('sipp', [`${to.address}:${to.port}`, '-i', from, '-p', '0', '-nostdin', '-timeout', '60s', '-timeout_error', '-sf', SCENARIO, '-s', '15551230000', '-m', String(calls), '-r', String(rate), '-d', '300'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

/**
 * The scaled topology with its edge closed (issue 14 item 2), natively: the repository's
 * dispatcher.cfg in Kamailio with a carrier ACL and pike, two replicas that believe the
 * balancer's X-Warmline-Source only from the balancer, and a redis-server that wants a password.
 */
describe('security: a closed edge behind the balancer', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'wl-closed-edge-'));
  const redis = new PasswordRedis(REDIS_PASSWORD);
  const replicas: Replica[] = [];
  let lb: Kamailio;
  let stranger: UdpSender;
  let insider: UdpSender;
  let internalPort = 0;

  before(async () => {
    await redis.start();
    const first = mediaBase(800);
    for (const [i, base] of [first, first + 400].entries()) {
      replicas.push(await startReplica({
        WARMLINE_SIP__PORT: String(await freeUdpPort()),
        WARMLINE_MEDIA__PORTMIN: String(base), WARMLINE_MEDIA__PORTMAX: String(base + 399),
        WARMLINE_SIP__CARRIERS: `["${CARRIER}"]`,
        WARMLINE_SIP__BALANCERS: '["127.0.0.1"]',
        WARMLINE_LEASES__REPLICAID: `sec-replica-${i}`,
        WARMLINE_UPSTREAMS__ASR__CONCURRENCYCAP: '8',
        REDIS_URL: redis.url,
        REDIS_PASSWORD,
      }));
    }
    const list = join(dir, 'dispatcher.list');
    // One more member of the replicas' set, disabled (flag 4: never chosen, never probed): the
    // balancer takes requests on its internal socket from it as from a replica.
    insider = await UdpSender.bind('127.0.0.1');
    writeFileSync(list, replicas.map((r) => `1 sip:${r.sip.address}:${r.sip.port};transport=udp 0 0\n`).join('') + `1 sip:127.0.0.1:${insider.port};transport=udp 4 0\n`);
    // 127.0.0.1 is listed only because the harness's readiness ping comes from it.
    const carriers = join(dir, 'carriers.list');
    writeFileSync(carriers, `1 ${CARRIER} 32 0 carrier\n1 ${WILD_CARRIER} 32 0 wild-carrier\n1 127.0.0.1 32 0 harness\n`);
    const port = await freeUdpPort();
    internalPort = await freeUdpPort();
    lb = new Kamailio({ port, script: { file: DISPATCHER_CFG, defines: {
      LB_ADDR: `127.0.0.1:${port}`, INTERNAL_ADDR: `127.0.0.1:${internalPort}`, DS_LIST: `"${list}"`, PROBE_S: '1', CARRIERS_LIST: `"${carriers}"`,
      PIKE_UNIT_S: '2', PIKE_REQS: '40', PIKE_BLOCK_S: '4', REFUSE_S: String(REFUSE_S), REFUSE_PER_S: String(REFUSE_PER_S),
    } } });
    await lb.start();
    stranger = await UdpSender.bind(STRANGER);
  });
  afterEach(function () {
    // A replica that died says why (its stderr) instead of the next test's fetch failing vaguely.
    if (this.currentTest?.state === 'failed') for (const r of replicas) if (r.child.exitCode !== null) console.error(`replica exited ${r.child.exitCode}: ${r.stderr().slice(-3000)}`);
  });
  after(async () => {
    stranger?.close();
    insider?.close();
    for (const r of replicas) r.kill();
    await lb?.dispose();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const lbAddr = () => ({ address: '127.0.0.1', port: lb.port });

  it('a carrier\'s calls through the balancer succeed; the replicas coordinate through the password-protected Redis', async () => {
    const r = await carrierCalls(CARRIER, lbAddr(), 6, 5);
    assert.equal(r.code, 0, r.out.slice(-4000));
    const answered = (await Promise.all(replicas.map((x) => api<CallsView>(x, '/api/calls')))).reduce((n, v) => n + v.totals.answered, 0);
    assert.equal(answered, 6);
    for (const x of replicas) {
      const v = await api<ReplicaView>(x, '/api/replica');
      assert.equal(v.store, 'redis');
      assert.ok(v.gates.length > 0 && v.gates.every((g) => g.mode === 'global'), JSON.stringify(v.gates));
    }
    assert.ok((await redis.keys('wl:lease:*')).length > 0, 'the leases live in that Redis');
    assert.match(await redis.answerWithoutPassword(), /^-NOAUTH/);
  });

  it('a stranger is refused 403 at the balancer once, then dropped unanswered, even claiming a carrier\'s address in the header; no replica sees it', async () => {
    const before = await Promise.all(replicas.map((x) => api<CallsView>(x, '/api/calls')));
    const t0 = Date.now();
    assert.equal(await stranger.final('INVITE', lbAddr()), 403);
    // Told once: the next requests within REFUSE_S get silence (a flood is not answered).
    const again = await stranger.final('INVITE', lbAddr(), [], 1000);
    if (windowsBetween(t0, Date.now(), REFUSE_S) === 1) assert.equal(again, undefined);
    const forger = await UdpSender.bind(FORGER);
    try {
      assert.equal(await forger.final('INVITE', lbAddr(), [`X-Warmline-Source: ${CARRIER}`]), 403);
    } finally { forger.close(); }
    const after = await Promise.all(replicas.map((x) => api<CallsView>(x, '/api/calls')));
    assert.deepEqual(after.map((v) => v.totals), before.map((v) => v.totals));
  });

  it('a stranger going around the balancer to a replica is judged by its own address: the forged header is ignored', async () => {
    const r = replicas[0]!;
    assert.equal(await stranger.final('INVITE', r.sip, [`X-Warmline-Source: ${CARRIER}`]), 403);
  });

  it('a flood from a stranger gets one 403 and silence; pike cuts a listed carrier that floods; the other carrier\'s calls still succeed', async () => {
    const flooder = await UdpSender.bind(FLOODER);
    const wild = await UdpSender.bind(WILD_CARRIER);
    try {
      const sent = 300;
      const t0 = Date.now();
      for (let i = 0; i < sent; i++) { flooder.request('OPTIONS', lbAddr()); wild.request('OPTIONS', lbAddr()); }
      await until(() => flooder.answers.length >= 1 && wild.answers.length >= 1, 'the first answers');
      assert.equal(await flooder.final('OPTIONS', lbAddr(), [], 1000), undefined);
      const told = flooder.answers.map((a) => a.status);
      assert.ok(told.length >= 1 && told.length <= windowsBetween(t0, Date.now(), REFUSE_S) && told.every((x) => x === 403), `the ACL answers a stranger once a window: ${told.join(',')}`);
      // The wild carrier passed the ACL; pike blocked it after PIKE_REQS, and while blocked even a
      // single later request gets no answer.
      assert.equal(await wild.final('OPTIONS', lbAddr(), [], 1000), undefined);
      assert.ok(wild.answers.length < sent / 2, `${wild.answers.length} of ${sent} answered`);
      assert.match(lb.log, /pike: 127\.0\.0\.3 is flooding/);
      // Logged once per PIKE_BLOCK_S window (4 s here; the flood and the checks may straddle a window's end), not once per datagram.
      assert.ok((lb.log.match(/pike: 127\.0\.0\.3 is flooding/g)?.length ?? 0) <= 2, 'logged once a window, not once per datagram');
      const r = await carrierCalls(CARRIER, lbAddr(), 4, 4);
      assert.equal(r.code, 0, r.out.slice(-4000));
    } finally { flooder.close(); wild.close(); }
  });

  it('a flood from many addresses (spoofed ones, say) is answered at most REFUSE_PER_S 403s a second in all, and logged a line a second', async () => {
    const senders = await Promise.all(Array.from({ length: 250 }, (_, i) => UdpSender.bind(`127.0.${1 + (i >> 7)}.${1 + (i & 127)}`)));
    const linesBefore = lb.log.match(/acl: /g)?.length ?? 0;
    try {
      const t0 = Date.now();
      for (let round = 0; round < 2; round++) for (const x of senders) x.request('OPTIONS', lbAddr());
      const forbidden = () => senders.reduce((n, x) => n + x.answers.filter((a) => a.status === 403).length, 0);
      await until(() => forbidden() > 0, 'the first 403s');
      // A carrier's request, relayed to a replica and back, is read after the flood queued before it.
      const carrier = await UdpSender.bind(CARRIER);
      try { assert.equal(await carrier.final('OPTIONS', lbAddr()), 200); } finally { carrier.close(); }
      const seconds = windowsBetween(t0, Date.now(), 1);
      assert.ok(forbidden() <= REFUSE_PER_S * seconds, `${forbidden()} 403s to 250 sources over ${seconds} s of clock`);
      assert.ok((lb.log.match(/acl: /g)?.length ?? 0) - linesBefore <= seconds, 'a line a second, not one a source');
    } finally { for (const x of senders) x.close(); }
  });

  it('an X-Warmline-Source a carrier writes never reaches a replica: the replica judges the carrier, not the header', async () => {
    // The control: from the balancer's address the replica does act on the header (a stranger's → 403).
    const asBalancer = await UdpSender.bind('127.0.0.1');
    try {
      assert.equal(await asBalancer.final('INVITE', replicas[0]!.sip, [`X-Warmline-Source: ${STRANGER}`]), 403);
    } finally { asBalancer.close(); }
    const carrier = await UdpSender.bind(CARRIER);
    try {
      for (const name of ['X-Warmline-Source', 'x-warmline-source']) {
        const status = await carrier.final('INVITE', lbAddr(), [`${name}: ${STRANGER}`]);
        assert.ok(status !== undefined && status !== 403, `${name} through the balancer: ${status}`);
      }
    } finally { carrier.close(); }
  });

  it('an X-Warmline-Source sent from the replicas\' side is removed too: the replica judges the balancer, not the header', async () => {
    // The control: from the balancer's address, a carrier's address in the header is believed.
    const direct = await insider.final('INVITE', replicas[0]!.sip, [`X-Warmline-Source: ${CARRIER}`]);
    assert.ok(direct !== undefined && direct !== 403, `the header sent straight to a replica: ${direct}`);
    // Through the internal socket the header is gone: the replica sees the balancer (not a carrier).
    assert.equal(await insider.final('INVITE', { address: '127.0.0.1', port: internalPort }, [`X-Warmline-Source: ${CARRIER}`]), 403);
  });

  it('a wrong Redis password: the replica runs on its local share and its logs never show the password in the URL', async () => {
    const secret = 'not-the-password-4f2a';
    const media = mediaBase(100);
    const g = spawnLogged({ REDIS_URL: `redis://:${secret}@127.0.0.1:${redis.port}`, WARMLINE_UPSTREAMS__ASR__CONCURRENCYCAP: '8', WARMLINE_MEDIA__PORTMIN: String(media), WARMLINE_MEDIA__PORTMAX: String(media + 99) });
    try {
      await until(() => /warmline ready: /.test(g.output()) || g.child.exitCode !== null, 'the ready line', 60_000);
      await until(() => /LEASE STORE UNREACHABLE/.test(g.output()), 'the outage to be logged', 20_000);
      assert.match(g.output(), /redis:\/\/\[redacted\]@127\.0\.0\.1/);
      assert.ok(!g.output().includes(secret), 'the password in REDIS_URL was logged');
    } finally {
      g.child.kill('SIGKILL');
      await g.exit;
    }
  });
});
