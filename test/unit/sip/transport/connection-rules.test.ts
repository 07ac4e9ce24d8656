import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { SIP_WS_PROTOCOL, TcpTransport, UserAgent, WsTransport, type Rejection } from '../../../../sip/index.js';
import { until } from '../../../support/wait.js';
import { options, StreamPeer } from './stream-peer.js';

/** A header block that never ends: a start line and `bytes` of one long header, no CRLFCRLF. */
const partial = (bytes: number) => `INVITE sip:warmline@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKslow\r\nX-Slow: ${'a'.repeat(bytes)}`;

async function open(port: number, n: number): Promise<Socket[]> {
  return Promise.all(Array.from({ length: n }, async () => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    await once(s, 'connect');
    return s;
  }));
}

describe('sip/transport: connection rules on real sockets (slow senders, per-source cap, unproven idle)', function () {
  this.timeout(60_000);
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });

  it('1,000 connections each parked with a partial header block are all cut by the message deadline, and counted', async () => {
    const tcp = await TcpTransport.bind('127.0.0.1', 0, { messageTimeoutMs: 500, maxConnectionsPerSource: 2000, unprovenIdleMs: 600_000 });
    const seen: Rejection[] = [];
    tcp.onReject = (r) => seen.push(r);
    try {
      const conns = await open(tcp.local.port, 1000);
      sockets.push(...conns);
      const closed = conns.map((s) => once(s, 'close'));
      await Promise.all(conns.map((s) => new Promise<void>((r) => s.write(partial(8000), () => r()))));
      await Promise.all(closed);
      await until(() => tcp.connectionCount === 0, 'the server side to let go');
      assert.equal(tcp.stats.rejections['message-timeout'], 1000);
      assert.equal(seen.filter((r) => r.reason === 'message-timeout').length, 1000);
      assert.equal(seen[0]!.transport, 'TCP');
    } finally {
      await tcp.close();
    }
  });

  it('a message that completes in time is answered on a connection that then keeps its long idle timeout', async () => {
    const tcp = await TcpTransport.bind('127.0.0.1', 0, { messageTimeoutMs: 300 });
    const ua = new UserAgent({ transport: tcp });
    try {
      const [s] = await open(tcp.local.port, 1);
      sockets.push(s!);
      const p = new StreamPeer(s!);
      const msg = options('in-time', s!.localPort!);
      await p.write(msg.slice(0, 40));
      await p.write(msg.slice(40));
      await p.waitFor(1);
      assert.equal(tcp.stats.rejections['message-timeout'], undefined);
    } finally {
      await ua.close();
      await tcp.close();
    }
  });

  it('the per-source cap refuses the excess at once, counted as source-cap; slots come back when connections close', async () => {
    const tcp = await TcpTransport.bind('127.0.0.1', 0, { maxConnectionsPerSource: 5 });
    try {
      const conns = await open(tcp.local.port, 8);
      sockets.push(...conns);
      await until(() => tcp.stats.rejections['source-cap'] === 3, 'three refusals');
      await until(() => conns.filter((s) => s.destroyed || s.readableEnded).length === 3, 'the refused three to close');
      assert.equal(tcp.connectionCount, 5);
      for (const s of conns) s.destroy();
      await until(() => tcp.connectionCount === 0, 'all closed');
      const again = await open(tcp.local.port, 5);
      sockets.push(...again);
      await until(() => tcp.connectionCount === 5, 'five new ones admitted');
      assert.equal(tcp.stats.rejections['source-cap'], 3);
    } finally {
      await tcp.close();
    }
  });

  it('a connection that never sent a valid message gets the short idle timeout; one that did keeps the long one', async () => {
    const tcp = await TcpTransport.bind('127.0.0.1', 0, { unprovenIdleMs: 300, idleTimeoutMs: 60_000 });
    const ua = new UserAgent({ transport: tcp });
    try {
      const [silent, talker] = await open(tcp.local.port, 2);
      sockets.push(silent!, talker!);
      const p = new StreamPeer(talker!);
      await p.write(options('proven', talker!.localPort!));
      await p.waitFor(1);
      await once(silent!, 'close');
      assert.equal(tcp.stats.rejections['unproven-idle'], 1);
      await until(() => tcp.connectionCount === 1, 'the server side of the silent one to close');
      assert.ok(!talker!.destroyed, 'the proven connection is still open after the short timeout');
    } finally {
      await ua.close();
      await tcp.close();
    }
  });

  it('WebSocket: the same per-source cap and unproven idle timeout', async () => {
    const ws = await WsTransport.bind('127.0.0.1', 0, { maxConnectionsPerSource: 2, unprovenIdleMs: 300 });
    const clients: WebSocket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const c = new WebSocket(`ws://127.0.0.1:${ws.local.port}`, SIP_WS_PROTOCOL);
        c.on('error', () => {});
        clients.push(c);
      }
      await until(() => ws.stats.rejections['source-cap'] === 1, 'one refusal');
      await until(() => clients.every((c) => c.readyState === WebSocket.CLOSED), 'every client closed (one refused, two idle)');
      assert.equal(ws.stats.rejections['unproven-idle'], 2);
      assert.equal(ws.connectionCount, 0);
    } finally {
      for (const c of clients) c.terminate();
      await ws.close();
    }
  });
});
