import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { edgeCounters, loadEdgeRuleset } from '../../../bench/flood-tools.js';

const run = promisify(execFile);
const CARRIER = '127.0.0.2';
// A second carrier with its own rate budget: its one datagram after a phase's sends marks the end
// of that phase in the socket's queue (one socket's queue is FIFO), so the reader knows it has read
// everything that got through without guessing a drain time.
const MARKER = '127.0.0.3';
const STRANGER = '127.0.0.50';
const PORT = 5060;
// nftables-edge.nft's per-source limit: 400 datagrams a second, burst 800.
const RATE = 400;
const BURST = 800;

// Runs inside the namespace: a socket on the SIP port, and senders from the carrier's and a
// stranger's addresses; prints what each phase got through and how long its sends took, as JSON.
const PEER = `
import dgram from 'node:dgram';
const [phase, from, count] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
let got = 0;
let ended = false;
rx.on('message', (m) => { if (m.toString() === 'END') ended = true; else got++; });
await new Promise((r) => rx.bind(${PORT}, '127.0.0.1', r));
const tx = dgram.createSocket('udp4');
await new Promise((r) => tx.bind(0, from, r));
const msg = Buffer.from('OPTIONS sip:x@127.0.0.1 SIP/2.0\\r\\n\\r\\n');
const send = (s) => new Promise((r) => s.send(msg, ${PORT}, '127.0.0.1', r));
// In batches: fast enough that the burst and the rate, not the sender, decide what gets through;
// awaited batch by batch so that the reader gets its turns.
const t0 = process.hrtime.bigint();
for (let i = 0; i < count; i += 50) await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => send(tx)));
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const marker = dgram.createSocket('udp4');
await new Promise((r) => marker.bind(0, '${MARKER}', r));
marker.send('END', ${PORT}, '127.0.0.1');
const deadline = Date.now() + 20000;
while (!ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
console.log(JSON.stringify({ phase, sent: count, got, seconds, ended }));
rx.close(); tx.close(); marker.close();
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
    loadEdgeRuleset({ ns, ports: [PORT], carriers: [CARRIER, MARKER] });
  });
  after(() => {
    try { execFileSync('ip', ['netns', 'del', ns]); } catch { /* never made */ }
    rmSync(dir, { recursive: true, force: true });
  });

  const phase = async (name: string, from: string, count: number) =>
    JSON.parse((await run('ip', ['netns', 'exec', ns, process.execPath, peer, name, from, String(count)])).stdout) as { sent: number; got: number; seconds: number; ended: boolean };

  it('drops a stranger before its socket, lets a carrier through, and cuts a carrier past its rate', async () => {
    const carrier = await phase('carrier', CARRIER, 200);
    assert.ok(carrier.ended, 'the end marker arrived');
    assert.equal(carrier.got, carrier.sent, 'every carrier datagram under the rate reached the socket');
    const stranger = await phase('stranger', STRANGER, 200);
    assert.ok(stranger.ended, 'the end marker arrived');
    assert.equal(stranger.got, 0, 'no stranger datagram reached the socket');
    assert.equal(edgeCounters(ns)['not a carrier'], 200);
    // 3,000 back to back: the burst and the rate let part through (the burst less the 200 above, at
    // least), the rest is dropped; however slowly a loaded machine sends, no more than the burst
    // plus the rate over the time the sends took.
    const wild = await phase('wild carrier', CARRIER, 3000);
    assert.ok(wild.ended, 'the end marker arrived');
    const most = BURST + RATE * wild.seconds + 20;
    assert.ok(wild.got >= BURST - carrier.sent - 20 && wild.got <= most, `a carrier past its rate: ${wild.got} of ${wild.sent} in ${wild.seconds.toFixed(2)} s got through (at most ${most.toFixed(0)})`);
    assert.ok(wild.got < wild.sent, `some were dropped: ${wild.got} of ${wild.sent} in ${wild.seconds.toFixed(2)} s`);
    assert.equal(edgeCounters(ns)['a carrier over its rate'], wild.sent - wild.got);
  });
});
