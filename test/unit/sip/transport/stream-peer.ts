import type { Socket } from 'node:net';
import { parseMessage, StreamFramer, type SipMessage } from '../../../../sip/index.js';

/**
 * The far end of a real TCP or TLS connection, as a test sees it: raw bytes
 * out, parsed SIP messages (and CRLF pongs) in, and a promise for the close.
 */
export class StreamPeer {
  readonly messages: SipMessage[] = [];
  /** The bytes of each message, as they came. */
  readonly frames: Buffer[] = [];
  pongs = 0;
  readonly closed: Promise<void>;
  #waiters: Array<() => void> = [];
  readonly #framer = new StreamFramer({ maxMessageBytes: 1 << 20, maxLineBytes: 1 << 16 });

  constructor(readonly socket: Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      if (chunk.toString('latin1') === '\r\n') {
        this.pongs++;
      } else {
        for (const f of this.#framer.push(chunk)) {
          if (f.kind === 'message') {
            this.frames.push(f.bytes);
            this.messages.push(parseMessage(f.bytes));
          }
          else if (f.kind === 'ping') this.pongs++;
        }
      }
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** Resolves once `n` messages arrived in all; rejects if the connection closes first. */
  async waitFor(n: number): Promise<SipMessage[]> {
    while (this.messages.length < n) {
      if (this.socket.destroyed) throw new Error(`connection closed after ${this.messages.length} of ${n} messages`);
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), this.closed]);
    }
    return this.messages;
  }

  async waitForPong(): Promise<void> {
    while (this.pongs === 0) await new Promise<void>((r) => this.#waiters.push(r));
  }

  end(): void {
    this.socket.destroy();
  }
}

/** A request as sipp writes one; `extra` headers and `body` are optional. */
export function options(callId: string, port: number, proto = 'TCP', opts: { body?: string; contentLength?: string; method?: string } = {}): string {
  const method = opts.method ?? 'OPTIONS';
  const body = opts.body ?? '';
  return `${method} sip:warmline@127.0.0.1 SIP/2.0\r\n` +
    `Via: SIP/2.0/${proto} 127.0.0.1:${port};branch=z9hG4bK-${callId};rport\r\n` +
    'Max-Forwards: 70\r\n' +
    `From: <sip:tester@127.0.0.1>;tag=t-${callId}\r\n` +
    'To: <sip:warmline@127.0.0.1>\r\n' +
    `Call-ID: ${callId}\r\n` +
    `CSeq: 1 ${method}\r\n` +
    `Contact: <sip:tester@127.0.0.1:${port};transport=${proto.toLowerCase()}>\r\n` +
    (body ? 'Content-Type: application/sdp\r\n' : '') +
    `Content-Length: ${opts.contentLength ?? Buffer.byteLength(body)}\r\n\r\n${body}`;
}

export const SDP = 'v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
