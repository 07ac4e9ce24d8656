import assert from 'node:assert/strict';
import { RawUac } from '../../support/sip-uac.js';
import { until } from '../../support/wait.js';
import { spawnLogged } from './peers.js';

const TOKEN = 'integration-oncall-7d3f0a9c';

type CallsView = { active: Array<{ id: string }>; totals: { ended: Record<string, number> } };
type PoolView = { name: string; min: number; size: number };

/**
 * The ops API of a gateway as `npm start` runs it, with a token from the environment: reading
 * needs it, and each admin action (hang up a call, resize a pool floor, drain) does what it says,
 * is logged with the token's name, and the drain ends the process as SIGTERM does.
 */
describe('security: ops API of a running gateway', function () {
  this.timeout(120_000);
  let g: ReturnType<typeof spawnLogged>;
  let url = '';
  let sip = { address: '127.0.0.1', port: 0 };
  const auth = { authorization: `Bearer ${TOKEN}` };
  const get = async <T>(path: string): Promise<T> => (await (await fetch(`${url}${path}`, { headers: auth })).json()) as T;
  const post = (path: string, body?: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });

  before(async () => {
    g = spawnLogged({
      WARMLINE_OPS__TOKENS: `[{name: oncall, token: "${TOKEN}"}]`,
      WARMLINE_MEDIA__PORTMIN: '46900', WARMLINE_MEDIA__PORTMAX: '46999',
      WARMLINE_CALLS__DRAINGRACEMS: '1000',
    });
    await until(() => /warmline ready: /.test(g.output()) || g.child.exitCode !== null, 'the ready line', 60_000);
    const m = /warmline ready: (http:\/\/[^ ]+) sip:([^ ]+):(\d+)/.exec(g.output());
    assert.ok(m, g.output().slice(-2000));
    url = m[1]!;
    sip = { address: m[2]!, port: Number(m[3]) };
  });
  after(async () => { if (g && g.child.exitCode === null) { g.child.kill('SIGKILL'); await g.exit; } });

  it('reading /api/* needs the token, even from loopback; the probes do not', async () => {
    assert.equal((await fetch(`${url}/api/calls`)).status, 401);
    assert.equal((await fetch(`${url}/api/calls`, { headers: auth })).status, 200);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
  });

  it('hangs up a call in progress, and logs who did', async () => {
    const uac = await RawUac.bind();
    try {
      assert.equal((await uac.invite(sip, '+15551230000')).status, 200);
      await until(async () => (await get<CallsView>('/api/calls')).active.length === 1, 'the call to be up');
      const id = (await get<CallsView>('/api/calls')).active[0]!.id;
      assert.equal((await post(`/api/admin/calls/${encodeURIComponent(id)}/hangup`)).status, 200);
      await until(async () => (await get<CallsView>('/api/calls')).active.length === 0, 'the call to end');
      assert.equal((await get<CallsView>('/api/calls')).totals.ended.hangup, 1);
      await until(() => /"who":"oncall","action":"hangup"/.test(g.output()), 'the admin line');
    } finally { uac.close(); }
  });

  it('raises the ASR pool floor at run time: the pool opens to it', async () => {
    assert.equal((await post('/api/admin/pools/asr/floor', { min: 3 })).status, 200);
    await until(async () => (await get<PoolView[]>('/api/pools')).filter((p) => p.name === 'asr').every((p) => p.min === 3 && p.size >= 3), 'asr to hold 3');
    assert.match(g.output(), /"who":"oncall","action":"pool-floor","upstream":"asr","min":3/);
  });

  it('a drain request ends the process as SIGTERM does: not ready, then exit 0', async () => {
    assert.equal((await post('/api/admin/drain')).status, 202);
    assert.equal(await g.exit, 0);
    assert.match(g.output(), /"who":"oncall","action":"drain"/);
    assert.ok(!g.output().includes(TOKEN), 'the token was logged');
  });
});
