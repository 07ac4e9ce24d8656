import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kamailio, freeUdpPort } from '../../support/kamailio.js';
import { startReplica, type Replica } from '../../support/replica.js';
import { sipp } from '../../support/sipp.js';
import { until } from '../../support/wait.js';

const SCENARIO = fileURLToPath(new URL('../calls/scenarios/call-hold-bye.xml', import.meta.url));
const DISPATCHER_CFG = fileURLToPath(new URL('../../../config/kamailio/dispatcher.cfg', import.meta.url));

type CallsView = { active: unknown[]; totals: { answered: number; refused: number } };
const calls = async (r: Replica): Promise<CallsView> => (await (await fetch(`${r.url}/api/calls`)).json()) as CallsView;

/**
 * docker-compose.yml's topology, natively on loopback: the same Kamailio
 * dispatcher script in front of two replicas (separate processes), and sipp
 * as the carrier sending every call to the balancer.
 */
describe('topology: Kamailio dispatcher in front of two replicas', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'wl-topology-'));
  let lb: Kamailio;
  const replicas: Replica[] = [];

  before(async () => {
    for (const [i, base] of [48000, 48400].entries()) {
      const port = await freeUdpPort();
      replicas.push(await startReplica({
        WARMLINE_SIP__PORT: String(port),
        WARMLINE_MEDIA__PORTMIN: String(base), WARMLINE_MEDIA__PORTMAX: String(base + 399),
        WARMLINE_CALLS__DRAINGRACEMS: '2000',
        WARMLINE_LEASES__REPLICAID: `replica-${i}`,
      }));
    }
    const list = join(dir, 'dispatcher.list');
    writeFileSync(list, replicas.map((r) => `1 sip:${r.sip.address}:${r.sip.port};transport=udp 0 0\n`).join(''));
    const carriers = join(dir, 'carriers.list');
    writeFileSync(carriers, '1 127.0.0.0 8 0 loopback\n');
    const port = await freeUdpPort();
    lb = new Kamailio({ port, script: { file: DISPATCHER_CFG, defines: { LB_ADDR: `127.0.0.1:${port}`, DS_LIST: `"${list}"`, PROBE_S: '1', CARRIERS_LIST: `"${carriers}"` } } });
    await lb.start();
  });
  after(async () => {
    for (const r of replicas) r.kill();
    await lb?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('spreads calls over both replicas; every call succeeds', async () => {
    const run = sipp({ address: '127.0.0.1', port: lb.port }, ['-sf', SCENARIO, '-s', '15550001000', '-m', '10', '-r', '5', '-d', '500']);
    const r = await run.done;
    assert.equal(r.code, 0, r.out.slice(-6000));
    const [a, b] = await Promise.all(replicas.map(calls));
    assert.equal(a!.totals.answered + b!.totals.answered, 10);
    assert.ok(a!.totals.answered > 0 && b!.totals.answered > 0, `a ${a!.totals.answered}, b ${b!.totals.answered}`);
  });

  it('a draining replica answers 503 and the balancer moves its calls to the other: no call fails; it exits 0', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const before = (await calls(b)).totals.answered;
    a.kill('SIGTERM');
    await until(async () => (await fetch(`${a.url}/readyz`).then((x) => x.status, () => 0)) !== 200, 'replica a not ready');
    const run = sipp({ address: '127.0.0.1', port: lb.port }, ['-sf', SCENARIO, '-s', '15550001000', '-m', '6', '-r', '5', '-d', '300']);
    const r = await run.done;
    assert.equal(r.code, 0, r.out.slice(-6000));
    assert.equal((await calls(b)).totals.answered - before, 6, 'every new call landed on replica b');
    assert.equal(await a.exit, 0);
  });
});
