import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { edgeCounters, loadEdgeRuleset } from '../../../bench/flood-tools.js';

const run = promisify(execFile);
const CARRIER = '127.0.0.2';
const STRANGER = '127.0.0.50';
const PORT = 5060;

// Runs inside the namespace: a socket on the SIP port, and senders from the carrier's and a
// stranger's addresses; prints what each phase got through, as JSON.
const PEER = `
import dgram from 'node:dgram';
const [phase, from, count] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
let got = 0;
rx.on('message', () => { got++; });
await new Promise((r) => rx.bind(${PORT}, '127.0.0.1', r));
const tx = dgram.createSocket('udp4');
await new Promise((r) => tx.bind(0, from, r));
const msg = Buffer.from('OPTIONS sip:x@127.0.0.1 SIP/2.0\\r\\n\\r\\n');
for (let i = 0; i < count; i++) await new Promise((r) => tx.send(msg, ${PORT}, '127.0.0.1', r));
// Datagrams on loopback are queued by the time send() calls back; a short drain for the reader.
const end = Date.now() + 500;
while (Date.now() < end && got < count) await new Promise((r) => setTimeout(r, 20));
console.log(JSON.stringify({ phase, sent: count, got }));
rx.close(); tx.close();
`;

/**
 * config/kamailio/nftables-edge.nft as shipped, loaded into a network namespace of the test's own
 * (its loopback, its tables; the host's are never touched): a stranger's datagrams never reach
 * the SIP socket, a carrier's do, and a carrier over its per-source rate is cut in the kernel.
 * bench:flood --kernel-acl measures the same with Kamailio, a replica and a 10× sipp flood.
 */
describe('security: the kernel edge (nftables-edge.nft) in a namespace', function () {
  this.timeout(60_000);
  const ns = `wl-kedge-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'wl-kedge-'));
  const peer = join(dir, 'peer.mjs');

  before(() => {
    writeFileSync(peer, PEER);
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    loadEdgeRuleset({ ns, ports: [PORT], carriers: [CARRIER] });
  });
  after(() => {
    try { execFileSync('ip', ['netns', 'del', ns]); } catch { /* never made */ }
    rmSync(dir, { recursive: true, force: true });
  });

  const phase = async (name: string, from: string, count: number) =>
    JSON.parse((await run('ip', ['netns', 'exec', ns, process.execPath, peer, name, from, String(count)])).stdout) as { sent: number; got: number };

  it('drops a stranger before its socket, lets a carrier through, and cuts a carrier past its rate', async () => {
    const carrier = await phase('carrier', CARRIER, 200);
    assert.equal(carrier.got, carrier.sent, 'every carrier datagram under the rate reached the socket');
    const stranger = await phase('stranger', STRANGER, 200);
    assert.equal(stranger.got, 0, 'no stranger datagram reached the socket');
    assert.equal(edgeCounters(ns)['not a carrier'], 200);
    // 2,000 back to back: the burst (800) and the rate (400/s) let part through, the rest is dropped.
    const wild = await phase('wild carrier', CARRIER, 2000);
    assert.ok(wild.got >= 500 && wild.got < 1500, `a carrier past its rate: ${wild.got} of 2000 got through`);
    assert.equal(edgeCounters(ns)['a carrier over its rate'], wild.sent - wild.got);
  });
});
