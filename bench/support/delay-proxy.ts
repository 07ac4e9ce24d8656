/**
 * A TCP-level delay proxy on loopback: the fallback when network namespaces are not
 * available. Every chunk is held `oneWayDelayMs` in each direction, in order.
 *
 * What it cannot emulate: the TCP handshake with the proxy completes at once, so a
 * cold connect through it costs one RTT less than on a real link (TLS, WebSocket and
 * HTTP/2 round trips are delayed as they should be). Benchmarks print which emulation
 * they used for that reason.
 */
import net from 'node:net';
import { defineBenchError } from './errors.js';

export const DelayProxyOptionsError = defineBenchError<{ option: string; value: unknown; expected: string }>(
  'BENCH_ERR_DELAY_PROXY_OPTIONS',
  'DelayProxyOptionsError',
  (c) => `delay proxy option ${c.option}=${JSON.stringify(c.value)}: expected ${c.expected}`,
);

export interface DelayProxyOptions {
  /** Where to forward; must be a loopback address. */
  targetHost: string;
  targetPort: number;
  oneWayDelayMs: number;
  /** Loopback address to listen on; default 127.0.0.1. */
  listenHost?: string;
  /** Default 0 (any free port). */
  listenPort?: number;
}

export interface DelayProxy {
  readonly emulation: 'tcp-delay-proxy';
  readonly host: string;
  readonly port: number;
  readonly oneWayDelayMs: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Stops listening and destroys every proxied connection. Idempotent. */
  close(): Promise<void>;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
}

/** Holds chunks for one direction and writes them out in order once their time comes. */
class DelayedPipe {
  readonly #queue: { due: number; chunk: Buffer | null }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #queuedBytes = 0;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly delayMs: number,
  ) {
    from.on('data', (chunk: Buffer) => this.#push(chunk));
    from.on('end', () => this.#push(null));
  }

  #push(chunk: Buffer | null): void {
    this.#queue.push({ due: performance.now() + this.delayMs, chunk });
    if (chunk) {
      this.#queuedBytes += chunk.length;
      // A link has a finite buffer: stop reading while 4 MB are in flight.
      if (this.#queuedBytes > 4 * 1024 * 1024) this.from.pause();
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#timer || this.#queue.length === 0) return;
    const wait = Math.max(0, (this.#queue[0]?.due ?? 0) - performance.now());
    this.#timer = setTimeout(() => this.#flush(), wait);
  }

  #flush(): void {
    this.#timer = undefined;
    const now = performance.now();
    while (this.#queue.length > 0 && (this.#queue[0]?.due ?? Infinity) <= now) {
      const { chunk } = this.#queue.shift()!;
      if (this.to.destroyed) continue;
      if (chunk === null) this.to.end();
      else {
        this.#queuedBytes -= chunk.length;
        this.to.write(chunk);
      }
    }
    if (this.#queuedBytes <= 1024 * 1024 && this.from.isPaused()) this.from.resume();
    this.#arm();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
  }
}

export async function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  const { targetHost, targetPort, oneWayDelayMs } = options;
  const listenHost = options.listenHost ?? '127.0.0.1';
  if (!isLoopback(targetHost)) {
    throw new DelayProxyOptionsError({ option: 'targetHost', value: targetHost, expected: 'a loopback address' });
  }
  if (!isLoopback(listenHost)) {
    throw new DelayProxyOptionsError({ option: 'listenHost', value: listenHost, expected: 'a loopback address' });
  }
  if (!Number.isInteger(targetPort) || targetPort < 1 || targetPort > 65535) {
    throw new DelayProxyOptionsError({ option: 'targetPort', value: targetPort, expected: 'an integer port 1..65535' });
  }
  if (typeof oneWayDelayMs !== 'number' || !Number.isFinite(oneWayDelayMs) || oneWayDelayMs < 0 || oneWayDelayMs > 10_000) {
    throw new DelayProxyOptionsError({ option: 'oneWayDelayMs', value: oneWayDelayMs, expected: 'a number of ms in 0..10000' });
  }

  const sockets = new Set<net.Socket>();
  const pipes = new Set<DelayedPipe>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
    }
    const ab = new DelayedPipe(client, upstream, oneWayDelayMs);
    const ba = new DelayedPipe(upstream, client, oneWayDelayMs);
    pipes.add(ab).add(ba);
    const teardown = (): void => {
      ab.stop();
      ba.stop();
      pipes.delete(ab);
      pipes.delete(ba);
      client.destroy();
      upstream.destroy();
    };
    // A reset on one side reaches the other one delay later, as it would on a wire.
    client.on('error', () => setTimeout(teardown, oneWayDelayMs).unref());
    upstream.on('error', () => setTimeout(teardown, oneWayDelayMs).unref());
    client.on('close', () => setTimeout(teardown, oneWayDelayMs + 50).unref());
    upstream.on('close', () => setTimeout(teardown, oneWayDelayMs + 50).unref());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort ?? 0, listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    emulation: 'tcp-delay-proxy',
    host: listenHost,
    port: address.port,
    oneWayDelayMs,
    get accepted() {
      return accepted;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const p of pipes) p.stop();
        pipes.clear();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

/**
 * Puts a delay proxy in front of the server `url` points at and returns the same URL with
 * the proxy's port; the proxy joins `proxies` so the caller can close them all.
 */
export async function viaDelayProxy(url: string, oneWayDelayMs: number, proxies: DelayProxy[]): Promise<string> {
  const u = new URL(url);
  const p = await startDelayProxy({ targetHost: u.hostname, targetPort: Number(u.port), oneWayDelayMs });
  proxies.push(p);
  u.port = String(p.port);
  return u.toString().replace(/\/$/, '');
}
