import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { startDelayProxy, DelayProxyOptionsError, type DelayProxy } from '../../../bench/support/delay-proxy.js';

const ONE_WAY_MS = 20;

describe('netem: TCP delay proxy on loopback (fallback emulation)', function () {
  this.timeout(30_000);
  let echo: net.Server;
  let echoPort = 0;
  let proxy: DelayProxy | undefined;
  const serverSockets = new Set<net.Socket>();

  before(async () => {
    echo = net.createServer((s) => {
      serverSockets.add(s);
      s.on('close', () => serverSockets.delete(s));
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as net.AddressInfo).port;
  });

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  after(async () => {
    for (const s of serverSockets) s.destroy();
    await new Promise<void>((r) => echo.close(() => r()));
  });

  function connect(p: DelayProxy): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect(p.port, p.host, () => resolve(s));
      s.once('error', reject);
    });
  }

  it('holds each chunk one delay each way: an echo costs at least one RTT', async () => {
    proxy = await startDelayProxy({ targetHost: '127.0.0.1', targetPort: echoPort, oneWayDelayMs: ONE_WAY_MS });
    assert.equal(proxy.emulation, 'tcp-delay-proxy');
    const s = await connect(proxy);
    const t0 = performance.now();
    s.write('ping');
    await new Promise<void>((r) => s.once('data', () => r()));
    const echoMs = performance.now() - t0;
    s.destroy();
    assert.ok(echoMs >= 2 * ONE_WAY_MS - 1, `echo took ${echoMs} ms, below one RTT`);
    assert.equal(proxy.accepted, 1);
  });

  it('carries 1 MB intact and in order', async () => {
    proxy = await startDelayProxy({ targetHost: '127.0.0.1', targetPort: echoPort, oneWayDelayMs: 5 });
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 131 + (i >> 10)) & 255;
    const s = await connect(proxy);
    const chunks: Buffer[] = [];
    let got = 0;
    const done = new Promise<void>((r) =>
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        got += c.length;
        if (got >= payload.length) r();
      }),
    );
    s.write(payload);
    await done;
    s.destroy();
    const back = Buffer.concat(chunks);
    assert.equal(back.length, payload.length);
    assert.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(payload).digest('hex'));
  });

  it('close() destroys live connections and stops listening', async () => {
    proxy = await startDelayProxy({ targetHost: '127.0.0.1', targetPort: echoPort, oneWayDelayMs: 5 });
    const s = await connect(proxy);
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.on('error', () => {});
    const port = proxy.port;
    await proxy.close();
    await proxy.close();
    await closed;
    await assert.rejects(
      new Promise((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1', () => {
          c.destroy();
          resolve(undefined);
        });
        c.once('error', reject);
      }),
      /ECONNREFUSED/,
    );
  });

  it('refuses a non-loopback target or bad delay with a typed error', async () => {
    for (const bad of [
      { targetHost: '10.1.2.3', targetPort: echoPort, oneWayDelayMs: 5 },
      { targetHost: '127.0.0.1', targetPort: 0, oneWayDelayMs: 5 },
      { targetHost: '127.0.0.1', targetPort: echoPort, oneWayDelayMs: -3 },
    ]) {
      await assert.rejects(startDelayProxy(bad), (e: unknown) => {
        assert.ok(e instanceof DelayProxyOptionsError);
        assert.equal(e.code, 'BENCH_ERR_DELAY_PROXY_OPTIONS');
        return true;
      });
    }
  });
});
