import { connect, createServer, type Socket } from 'node:net';
import type { Destination } from './transport.js';
import { StreamTransport, type StreamTransportOptions } from './stream-transport.js';

/** SIP over TCP (RFC 3261 §18), Via `SIP/2.0/TCP`. */
export class TcpTransport extends StreamTransport {
  readonly protocol = 'TCP' as const;
  protected readonly defaultPort = 5060;

  private constructor(o: StreamTransportOptions) {
    const server = createServer((s) => this.accepted(s));
    super(server, o);
  }

  // `override` because a class is a function: a static `bind` shadows Function.prototype.bind (the name mirrors UdpTransport.bind).
  static override async bind(host: string, port: number, o: StreamTransportOptions = {}): Promise<TcpTransport> {
    const t = new TcpTransport(o);
    await t.listen(host, port);
    return t;
  }

  protected connect(to: Destination): Socket {
    return connect({ host: to.address, port: to.port });
  }
}
