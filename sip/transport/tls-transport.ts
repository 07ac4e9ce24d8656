import type { Socket } from 'node:net';
import { connect, createServer, type ConnectionOptions, type TlsOptions } from 'node:tls';
import { DEFAULT_CONNECTION_RULES } from './connection-rules.js';
import type { Peer } from './transport.js';
import { StreamTransport, type StreamTransportOptions } from './stream-transport.js';

export interface TlsTransportOptions extends StreamTransportOptions {
  /** Server side: key and certificate (PEM), and any other node:tls server option. */
  server: TlsOptions;
  /** Client side, for connections we open (CA to trust, client certificate, servername). */
  client?: ConnectionOptions;
}

/** SIP over TLS (RFC 3261 §18, §26.3.1), Via `SIP/2.0/TLS`, default port 5061. */
export class TlsTransport extends StreamTransport {
  readonly protocol = 'TLS' as const;
  protected readonly defaultPort = 5061;
  readonly #client: ConnectionOptions;

  private constructor(o: TlsTransportOptions) {
    // Handshake failures (a plain-TCP peer, a bad certificate) end that socket only.
    // A handshake that never finishes is a slow sender too.
    const server = createServer({ handshakeTimeout: o.messageTimeoutMs || DEFAULT_CONNECTION_RULES.messageTimeoutMs, ...o.server }, (s) => this.accepted(s));
    server.on('tlsClientError', (_err, s) => s.destroy());
    super(server, o);
    this.#client = o.client ?? {};
  }

  // `override` because a class is a function: a static `bind` shadows Function.prototype.bind (the name mirrors UdpTransport.bind).
  static override async bind(host: string, port: number, o: TlsTransportOptions): Promise<TlsTransport> {
    const t = new TlsTransport(o);
    await t.listen(host, port);
    return t;
  }

  protected connect(to: Peer): Socket {
    return connect({ host: to.address, port: to.port, ...this.#client });
  }
}
