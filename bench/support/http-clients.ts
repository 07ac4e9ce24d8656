/**
 * node:http2 against undici for the LLM/CRM HTTP traffic, side by side in one run (bench:pools).
 *
 * Same peer (the local CRM: HTTP/2 with HTTP/1.1 allowed), same request (GET /v1/contacts with a
 * Bearer key, ~100-byte JSON answer), on loopback so that the figures are the clients' own cost,
 * not the link's (across a real RTT both add the same round trips). Blocks of requests alternate
 * between clients so that a neighbour's burst on this shared machine hits both alike.
 *
 * - h2 node:http2: our Http2Session (what the LLM and CRM pools hold), opened ahead of use.
 * - h2 undici: a Client with allowH2 (ALPN picks h2) and pipelining 100 (without it undici sends one
 *   request at a time on the session), warmed by one request. Client and server share this process:
 *   the CPU figure is both together, and the same server code serves both h2 clients.
 * - h1 undici: our Http1Connection (a warm keep-alive socket handed to undici), as the CRM pool
 *   holds it for a peer without HTTP/2; one request at a time per connection.
 */
import { performance } from 'node:perf_hooks';
import { Client } from 'undici';
import { startLocalUpstreams } from '../../src/local/index.js';
import { connectHttp, Http1Connection, type HttpConnection } from '../../src/upstreams/index.js';

export interface HttpClientFigures {
  http_requests_per_client: number;
  http_concurrency: number;
  http_cold_first_request_ms: Record<Client3, number>;
  http_warm_p50_ms: Record<Client3, number>;
  http_warm_p99_ms: Record<Client3, number>;
  http_warm_cpu_us_per_request: Record<Client3, number>;
  http_concurrent_requests_per_s: Record<Client3, number>;
  http_undici_over_node_h2: { p50: number; p99: number; cpu: number; throughput: number; cold: number };
  http_h2_capabilities: Record<'node_http2' | 'undici', string>;
}

type Client3 = 'h2_node' | 'h2_undici' | 'h1_undici';
const CLIENTS: readonly Client3[] = ['h2_node', 'h2_undici', 'h1_undici'];
type Send = () => Promise<number>;

const round = (x: number, d: number): number => Number(x.toFixed(d));
function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? 0;
}

export async function compareHttpClients(o: { requests?: number; concurrency?: number; coldSamples?: number } = {}): Promise<HttpClientFigures> {
  const requests = o.requests ?? 3000;
  const concurrency = o.concurrency ?? 50;
  const coldSamples = o.coldSamples ?? 10;
  const up = await startLocalUpstreams({});
  const origin = new URL(up.crm.url).origin;
  const path = '/v1/contacts?phone=%2B15551230001';
  const headers = { authorization: 'Bearer local-dev-key' };
  const never = new AbortController().signal;
  const viaConn = (c: HttpConnection): Send => async () => {
    const r = await c.exchange('bench', 'GET', path, headers, undefined);
    return r.status;
  };
  const viaUndici = (c: Client): Send => async () => {
    const r = await c.request({ method: 'GET', path, headers });
    await r.body.text();
    return r.statusCode;
  };
  const opened: Array<{ close(): Promise<unknown> }> = [];
  try {
    // Cold: a new client and its first answer (TCP, TLS, SETTINGS or not, the request).
    const cold: Record<Client3, number[]> = { h2_node: [], h2_undici: [], h1_undici: [] };
    for (let i = 0; i < coldSamples; i++) {
      for (const name of CLIENTS) {
        const t0 = performance.now();
        const { send, close } = await open(name);
        if ((await send()) !== 200) throw new Error(`${name}: unexpected status`);
        cold[name].push(performance.now() - t0);
        await close();
      }
    }

    const warm = Object.fromEntries(await Promise.all(CLIENTS.map(async (n) => [n, await open(n)] as const))) as Record<Client3, Awaited<ReturnType<typeof open>>>;
    for (const w of Object.values(warm)) opened.push(w);
    for (const n of CLIENTS) for (let i = 0; i < 200; i++) await warm[n].send(); // JIT warm-up, unmeasured

    const lat: Record<Client3, number[]> = { h2_node: [], h2_undici: [], h1_undici: [] };
    const cpu: Record<Client3, number> = { h2_node: 0, h2_undici: 0, h1_undici: 0 };
    const block = 100;
    for (let done = 0; done < requests; done += block) {
      for (const n of CLIENTS) {
        const c0 = process.cpuUsage();
        for (let i = 0; i < block; i++) {
          const t0 = performance.now();
          await warm[n].send();
          lat[n].push(performance.now() - t0);
        }
        const c = process.cpuUsage(c0);
        cpu[n] += c.user + c.system;
      }
    }

    // Concurrent: `concurrency` requests in flight, 20 rounds each, alternating clients. HTTP/1.1
    // gets as many warm connections as requests in flight (one request per connection at a time).
    const h1Conns = [warm.h1_undici];
    for (let i = 1; i < concurrency; i++) { const c = await open('h1_undici'); h1Conns.push(c); opened.push(c); }
    const elapsed: Record<Client3, number> = { h2_node: 0, h2_undici: 0, h1_undici: 0 };
    const rounds = 20;
    for (let r = 0; r < rounds; r++) {
      for (const n of CLIENTS) {
        const t0 = performance.now();
        await Promise.all(Array.from({ length: concurrency }, (_, i) => (n === 'h1_undici' ? h1Conns[i]! : warm[n]).send()));
        elapsed[n] += performance.now() - t0;
      }
    }

    const per = <T>(f: (n: Client3) => T): Record<Client3, T> => Object.fromEntries(CLIENTS.map((n) => [n, f(n)])) as Record<Client3, T>;
    const p50 = per((n) => quantile(lat[n], 0.5));
    const p99 = per((n) => quantile(lat[n], 0.99));
    const cpuPer = per((n) => cpu[n] / lat[n].length);
    const rps = per((n) => (rounds * concurrency) / (elapsed[n] / 1000));
    const coldMed = per((n) => quantile(cold[n], 0.5));
    return {
      http_requests_per_client: lat.h2_node.length,
      http_concurrency: concurrency,
      http_cold_first_request_ms: per((n) => round(coldMed[n], 2)),
      http_warm_p50_ms: per((n) => round(p50[n], 4)),
      http_warm_p99_ms: per((n) => round(p99[n], 4)),
      http_warm_cpu_us_per_request: per((n) => round(cpuPer[n], 1)),
      http_concurrent_requests_per_s: per((n) => Math.round(rps[n])),
      http_undici_over_node_h2: {
        p50: round(p50.h2_undici / p50.h2_node, 2),
        p99: round(p99.h2_undici / p99.h2_node, 2),
        cpu: round(cpuPer.h2_undici / cpuPer.h2_node, 2),
        throughput: round(rps.h2_undici / rps.h2_node, 2),
        cold: round(coldMed.h2_undici / coldMed.h2_node, 2),
      },
      http_h2_capabilities: {
        node_http2: 'open ahead, PING on demand with a timeout, capacity from SETTINGS, RST_STREAM per lease',
        undici: 'connects on first request, PING on its own interval only, session hidden',
      },
    };
  } finally {
    await Promise.all(opened.map((c) => c.close().catch(() => undefined)));
    await up.close();
  }

  async function open(name: Client3): Promise<{ send: Send; close(): Promise<unknown> }> {
    if (name === 'h2_undici') {
      // pipelining: undici caps requests in flight on a session by it (default 1, i.e. no multiplexing).
      const c = new Client(origin, { allowH2: true, pipelining: 100, connect: { ca: up.ca } });
      return { send: viaUndici(c), close: () => c.close() };
    }
    if (name === 'h2_node') {
      const c = await connectHttp({ provider: 'crm', baseUrl: origin, ca: up.ca, maxStreams: 100 }, never);
      if (c.protocol !== 'h2') throw new Error('expected an HTTP/2 session');
      return { send: viaConn(c), close: () => c.close() };
    }
    // HTTP/1.1 from a peer that also offers h2: offer only http/1.1 in ALPN, as a peer without h2 would answer.
    const tls = await import('node:tls');
    const url = new URL(origin);
    const socket = await new Promise<import('node:tls').TLSSocket>((resolve, reject) => {
      const s = tls.connect({ host: url.hostname, port: Number(url.port), ca: up.ca, ALPNProtocols: ['http/1.1'] }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new Http1Connection({ provider: 'crm', origin, socket });
    return { send: viaConn(c), close: () => c.close() };
  }
}
