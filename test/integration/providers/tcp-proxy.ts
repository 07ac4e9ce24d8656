import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder that can go silent: blackhole() stops carrying bytes on the
 * flows it holds without closing them (no FIN, no RST), which is what a client
 * sees when a middlebox forgets a flow or a peer vanishes: a half-open socket
 * that still takes writes. New flows are forwarded as usual.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  #port = 0;
  accepted = 0;

  constructor(readonly targetHost: string, readonly targetPort: number) {
    this.#server = createServer((client) => {
      this.accepted++;
      const upstream = connect(targetPort, targetHost);
      const pair: [Socket, Socket] = [client, upstream];
      this.#pairs.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        this.#pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    const a = this.#server.address();
    this.#port = typeof a === 'object' && a ? a.port : 0;
    return this.#port;
  }

  get port(): number {
    return this.#port;
  }

  /** Every flow held now stops forwarding, both ways, and stays open. */
  blackhole(): number {
    for (const [client, upstream] of this.#pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
    return this.#pairs.size;
  }

  async close(): Promise<void> {
    for (const [a, b] of this.#pairs) { a.destroy(); b.destroy(); }
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}
