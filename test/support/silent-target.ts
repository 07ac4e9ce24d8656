import dgram from 'node:dgram';
import { createResponse, parseMessage, SipRequest, type SipResponse } from '../../sip/message/index.js';

/**
 * An RFC 3263 target that says nothing: a real UDP socket that takes every request in, keeps it
 * (so a test can count the INVITEs and see the CANCEL, ACK or BYE that come later) and answers
 * only when the test tells it to, e.g. late, after the gateway gave it up.
 */
export class SilentTarget {
  readonly requests: SipRequest[] = [];
  readonly #socket: dgram.Socket;
  readonly #from = new WeakMap<SipRequest, dgram.RemoteInfo>();

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
    socket.on('message', (buf, from) => {
      let m;
      try { m = parseMessage(buf); } catch { return; }
      if (!(m instanceof SipRequest)) return;
      this.#from.set(m, from);
      this.requests.push(m);
    });
  }

  /** Binds an ephemeral port on 127.0.0.1. */
  static bind(): Promise<SilentTarget> {
    const s = dgram.createSocket('udp4');
    return new Promise((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve(new SilentTarget(s)));
    });
  }

  get port(): number { return this.#socket.address().port; }

  received(method: string): SipRequest[] { return this.requests.filter((r) => r.method === method); }

  /** Answers `req` where it came from (§18.2.2 with rport: our gateway's socket). */
  respond(req: SipRequest, status: number, o: { toTag?: string; sdp?: string } = {}): SipResponse {
    const res = createResponse(req, status, {
      ...(o.toTag && { toTag: o.toTag }),
      ...(status >= 200 && status < 300 && { headers: { contact: `<sip:silent@127.0.0.1:${this.port}>` } }),
      ...(o.sdp && { body: o.sdp, contentType: 'application/sdp' }),
    });
    const from = this.#from.get(req)!;
    this.#socket.send(res.toBuffer(), from.port, from.address);
    return res;
  }

  close(): void { this.#socket.close(); }
}
