import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import selfsigned from 'selfsigned';
import {
  createDelayedLink,
  delayedLinkUnavailableReason,
  DelayedLinkOptionsError,
  type DelayedLink,
} from '../../../bench/support/delayed-link.js';

const execFileAsync = promisify(execFile);
const ONE_WAY_MS = 20;
const PORT = 7411;

// Node cannot enter a namespace itself, so each side is a small node process started
// with `ip netns exec`.
const ECHO_SERVER = `
const net = require('node:net');
const srv = net.createServer((s) => s.pipe(s));
srv.listen(${PORT}, process.argv[1], () => console.log('listening'));
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
`;
const CLIENT = `
const net = require('node:net'); const crypto = require('node:crypto');
const [host, hex] = [process.argv[1], process.argv[2]];
const payload = Buffer.alloc(Number(hex), 7); for (let i = 0; i < payload.length; i++) payload[i] = (i * 131) & 255;
const t0 = process.hrtime.bigint();
const s = net.connect(${PORT}, host, () => {
  const tConnect = process.hrtime.bigint();
  s.write('x');
  s.once('data', (d) => {
    const tEcho = process.hrtime.bigint();
    const chunks = [d.subarray(1)]; let got = d.length - 1;
    s.on('data', (c) => { chunks.push(c); got += c.length; if (got >= payload.length) finish(); });
    s.write(payload);
    function finish() {
      const all = Buffer.concat(chunks);
      console.log(JSON.stringify({
        connectMs: Number(tConnect - t0) / 1e6, firstEchoMs: Number(tEcho - t0) / 1e6,
        bytes: all.length, sha256: crypto.createHash('sha256').update(all).digest('hex'),
        sentSha256: crypto.createHash('sha256').update(payload).digest('hex'),
      }));
      s.end(); process.exit(0);
    }
  });
});
s.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

const WSS_SERVER = `
const https = require('node:https'); const { WebSocketServer } = require('ws');
const srv = https.createServer({ key: process.env.WL_KEY, cert: process.env.WL_CERT, minVersion: 'TLSv1.3' });
new WebSocketServer({ server: srv }).on('connection', (ws) => ws.on('message', (m) => ws.send(String(m))));
srv.listen(${PORT}, process.argv[1], () => console.log('listening'));
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
`;
const WSS_CLIENT = `
const WebSocket = require('ws');
const t0 = performance.now();
const ws = new WebSocket('wss://' + process.argv[1] + ':${PORT}/', { ca: process.env.WL_CERT });
ws.on('open', () => {
  const openMs = performance.now() - t0;
  ws.send('hello');
  ws.once('message', (m) => { console.log(JSON.stringify({ openMs, echo: String(m) })); ws.terminate(); process.exit(0); });
});
ws.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

function waitLine(child: ChildProcess, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no '${text}' within ${timeoutMs} ms: ${out}`)), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before '${text}': ${out}`));
    });
  });
}

async function namespaces(): Promise<string[]> {
  const { stdout } = await execFileAsync('ip', ['netns', 'list']);
  return stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

describe('netem: delayed link between two namespaces (TAP + userspace forwarder)', function () {
  this.timeout(60_000);
  let link: DelayedLink | undefined;

  before(async function () {
    const reason = await delayedLinkUnavailableReason();
    if (reason) {
      console.log(`    skipped: ${reason}`);
      this.skip();
    }
  });

  afterEach(async () => {
    await link?.close();
    link = undefined;
  });

  it('delays connect + first echo by at least 2 RTT and carries 1 MB intact', async () => {
    link = await createDelayedLink({ oneWayDelayMs: ONE_WAY_MS, name: 'echo' });
    const server = link.spawn('B', [process.execPath, '-e', ECHO_SERVER, link.addrB], { stdio: ['pipe', 'pipe', 'inherit'] });
    await waitLine(server, 'listening', 20_000);
    const { stdout } = await link.exec('A', [process.execPath, '-e', CLIENT, link.addrB, String(1024 * 1024)]);
    const r = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
      connectMs: number;
      firstEchoMs: number;
      bytes: number;
      sha256: string;
      sentSha256: string;
    };
    // SYN/SYN-ACK is one round trip, the echo another: four one-way delays at least.
    assert.ok(r.connectMs >= 2 * ONE_WAY_MS, `connect took ${r.connectMs} ms, below one RTT`);
    assert.ok(r.firstEchoMs >= 4 * ONE_WAY_MS, `connect + first echo took ${r.firstEchoMs} ms, below 2 RTT`);
    assert.equal(r.bytes, 1024 * 1024);
    assert.equal(r.sha256, r.sentSha256);
  });

  it('a cold TLS 1.3 WebSocket across the link costs at least 3 RTT (TCP, TLS, upgrade)', async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'wl-netem' }], {
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '10.213.0.2' }] }],
    });
    link = await createDelayedLink({ oneWayDelayMs: ONE_WAY_MS, name: 'tls' });
    const env = { ...process.env, WL_KEY: pems.private, WL_CERT: pems.cert };
    const server = link.spawn('B', [process.execPath, '-e', WSS_SERVER, link.addrB], { stdio: ['pipe', 'pipe', 'inherit'], env });
    await waitLine(server, 'listening', 20_000);
    const { stdout } = await link.exec('A', [process.execPath, '-e', WSS_CLIENT, link.addrB], { env });
    const r = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { openMs: number; echo: string };
    assert.equal(r.echo, 'hello');
    assert.ok(r.openMs >= 6 * ONE_WAY_MS, `cold wss open took ${r.openMs} ms, below 3 RTT`);
  });

  it('close() removes both namespaces and is idempotent', async () => {
    link = await createDelayedLink({ oneWayDelayMs: 5, name: 'close' });
    const { nsA, nsB } = link;
    assert.ok((await namespaces()).includes(nsA));
    assert.ok((await namespaces()).includes(nsB));
    const sleeper = link.spawn('A', ['sleep', '60']);
    await link.close();
    await link.close();
    const left = await namespaces();
    assert.ok(!left.includes(nsA) && !left.includes(nsB), `namespaces left: ${left.join(',')}`);
    assert.ok(sleeper.exitCode !== null || sleeper.signalCode !== null, 'spawned child still running');
    await assert.rejects(link.exec('A', ['true']), /link is closed/);
  });

  it('rejects bad options with a typed error before touching the system', async () => {
    const before = await namespaces();
    for (const bad of [{ oneWayDelayMs: -1 }, { oneWayDelayMs: Number.NaN }, { oneWayDelayMs: 5, name: 'no spaces' }]) {
      await assert.rejects(createDelayedLink(bad), (e: unknown) => {
        assert.ok(e instanceof DelayedLinkOptionsError);
        assert.equal(e.code, 'BENCH_ERR_NETEM_OPTIONS');
        return true;
      });
    }
    assert.deepEqual(await namespaces(), before);
  });
});
