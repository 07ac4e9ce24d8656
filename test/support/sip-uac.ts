import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';

export interface RawResponse {
  status: number;
  text: string;
  header(name: string): string | undefined;
}

const sdpOffer = (port: number, codecs: Array<[number, string]>) => [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
  `m=audio ${port} RTP/AVP ${codecs.map(([pt]) => pt).join(' ')}`,
  ...codecs.map(([pt, name]) => `a=rtpmap:${pt} ${name}/8000`),
  'a=ptime:20', '',
].join('\r\n');

/**
 * A bare-hands SIP caller on a real UDP socket, for the requests sipp cannot
 * easily be told to make wrong: odd SDP, unknown numbers, raw garbage. It
 * sends one INVITE and ACKs the final response.
 */
export class RawUac {
  readonly #socket: dgram.Socket;
  readonly #responses: RawResponse[] = [];
  #waiters: Array<() => void> = [];

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
    socket.on('message', (m) => {
      const text = m.toString('utf8');
      const status = Number(/^SIP\/2\.0 (\d{3})/.exec(text)?.[1]);
      if (!status) return;
      const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(text)?.[1]?.trim();
      this.#responses.push({ status, text, header });
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async bind(): Promise<RawUac> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
    return new RawUac(s);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  send(raw: string | Buffer, to: { address: string; port: number }): void {
    this.#socket.send(typeof raw === 'string' ? Buffer.from(raw) : raw, to.port, to.address);
  }

  /** INVITE `did` with an SDP offering `codecs` (or no body); resolves with the final response, ACKed. */
  async invite(to: { address: string; port: number }, did: string, codecs: Array<[number, string]> | null = [[0, 'PCMU']], timeoutMs = 10_000): Promise<RawResponse> {
    const branch = `z9hG4bK${randomBytes(8).toString('hex')}`;
    const callId = randomBytes(8).toString('hex');
    const tag = randomBytes(4).toString('hex');
    const body = codecs ? sdpOffer(40000, codecs) : '';
    const head = [
      `INVITE sip:${did}@${to.address}:${to.port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=${branch};rport`,
      `From: <sip:+15550000001@127.0.0.1:${this.port}>;tag=${tag}`,
      `To: <sip:${did}@${to.address}:${to.port}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:+15550000001@127.0.0.1:${this.port}>`,
      'Max-Forwards: 70',
      ...(codecs ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '', '',
    ].join('\r\n');
    const start = this.#responses.length;
    this.send(head + body, to);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const final = this.#responses.slice(start).find((r) => r.status >= 200 && r.header('call-id') === callId);
      if (final) {
        const toHeader = final.header('to') ?? '';
        this.send([
          `ACK sip:${did}@${to.address}:${to.port} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=${final.status >= 300 ? branch : `z9hG4bK${randomBytes(8).toString('hex')}`}`,
          `From: <sip:+15550000001@127.0.0.1:${this.port}>;tag=${tag}`,
          `To: ${toHeader}`, `Call-ID: ${callId}`, 'CSeq: 1 ACK', 'Max-Forwards: 70', 'Content-Length: 0', '', '',
        ].join('\r\n'), to);
        return final;
      }
      if (Date.now() > deadline) throw new Error(`no final response to INVITE ${did} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Every response received so far. */
  get responses(): readonly RawResponse[] {
    return this.#responses;
  }

  close(): void {
    this.#socket.close();
  }
}
