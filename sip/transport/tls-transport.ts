import { isIP, type Socket } from 'node:net';
import { connect, createServer, type ConnectionOptions, type TlsOptions } from 'node:tls';
import { SipTlsCertificateError, type SipTransportError } from '../errors.js';
import { DEFAULT_CONNECTION_RULES } from './connection-rules.js';
import type { Destination, Peer } from './transport.js';
import { StreamTransport, type StreamTransportOptions } from './stream-transport.js';

export interface TlsTransportOptions extends StreamTransportOptions {
  /** Server side: key and certificate (PEM), and any other node:tls server option. */
  server: TlsOptions;
  /**
   * Client side, for connections we open: the CA bundle to trust (default: Node's), a client
   * certificate. A destination's `tls` (a registration's own CA, certificate, host name) wins.
   */
  client?: ConnectionOptions;
}

/**
 * Node's codes for a peer certificate it refused: the host-name check (tls.checkServerIdentity)
 * and OpenSSL's chain verification (X509_V_ERR_* names without the prefix). Not the peer's
 * alerts (ERR_SSL_*ALERT_BAD_CERTIFICATE: it refused ours), which stay transport errors.
 */
const CERTIFICATE_FAILURE = /^(?!ERR_SSL_)(ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|UNABLE_TO_[A-Z_]+|[A-Z_]*CERT[A-Z_]*|INVALID_CA|PATH_LENGTH_EXCEEDED|INVALID_PURPOSE)$/;

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

  /**
   * RFC 5922 §4.1: the certificate must be valid for the host we were configured with, not the
   * address DNS resolved it to. Node checks `servername` (also sent as SNI) when it is given,
   * else the address; an IP is never sent as SNI (RFC 6066 §3).
   */
  protected connect(to: Destination): Socket {
    const t = to.tls;
    const name = t?.serverName && isIP(t.serverName) === 0 ? t.serverName : undefined;
    return connect({
      ...this.#client,
      host: to.address,
      port: to.port,
      ...(t?.ca !== undefined && { ca: typeof t.ca === 'string' ? t.ca : [...t.ca] }),
      ...(t?.cert !== undefined && { cert: t.cert }),
      ...(t?.key !== undefined && { key: t.key }),
      // Verification is never switched off here, whatever the client options say.
      rejectUnauthorized: true,
      ...(name && { servername: name }),
    });
  }

  protected override connectFailure(remote: Peer, failure: Error | undefined): SipTransportError {
    const code = (failure as NodeJS.ErrnoException | undefined)?.code;
    if (!failure || !code || !CERTIFICATE_FAILURE.test(code)) return super.connectFailure(remote, failure);
    return new SipTlsCertificateError(
      `the certificate of TLS ${remote.address}:${remote.port} was refused: ${failure.message}`,
      { transport: this.protocol, address: remote.address, port: remote.port, reason: code },
      { cause: failure },
    );
  }
}
