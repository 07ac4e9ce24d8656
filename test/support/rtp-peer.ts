import dgram from 'node:dgram';
import { dtmfPackets, RtpPacket, ulawToPcm, writeRtpHeader } from '../../media/index.js';

export interface ReceivedRtp {
  at: number;
  payloadType: number;
  seq: number;
  marker: boolean;
  payload: Buffer;
}

function rms(ulaw: Buffer): number {
  const pcm = ulawToPcm(ulaw);
  let sum = 0;
  for (const v of pcm) sum += v * v;
  return Math.sqrt(sum / pcm.length);
}

/**
 * The caller's phone, as far as media goes: a real UDP socket that sends
 * µ-law in 20 ms RTP packets in real time and keeps every packet it gets back.
 */
export class RtpPeer {
  readonly received: ReceivedRtp[] = [];
  readonly #socket: dgram.Socket;
  #target: { address: string; port: number } | undefined;
  #seq = 1000;
  #ts = 80_000;
  readonly #ssrc = 0x5eed1234;
  #sending: Promise<void> = Promise.resolve();
  /** performance.now() when the last frame with speech in it (RMS above the VAD's 400) was sent. */
  lastVoicedSentAt = 0;
  #stopped = false;

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
    socket.on('message', (m) => {
      try {
        const p = RtpPacket.deSerialize(m);
        this.received.push({ at: performance.now(), payloadType: p.payloadType, seq: p.sequenceNumber, marker: p.marker, payload: Buffer.from(p.payload) });
      } catch {
        /* RTCP arrives on the other port; anything else is not ours to judge here */
      }
    });
  }

  static async bind(): Promise<RtpPeer> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
    return new RtpPeer(s);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** Where the gateway's SDP answer says to send. */
  target(address: string, port: number): void {
    this.#target = { address, port };
  }

  /** Queues µ-law audio, sent as 20 ms packets at real-time pace after anything queued before. */
  send(ulaw: Buffer, payloadType = 0): Promise<void> {
    this.#sending = this.#sending.then(() => this.#pace(ulaw, payloadType));
    return this.#sending;
  }

  async #pace(ulaw: Buffer, payloadType: number): Promise<void> {
    const start = performance.now();
    for (let i = 0, n = 0; i < ulaw.length && !this.#stopped; i += 160, n++) {
      const frame = Buffer.alloc(160, 0xff);
      ulaw.copy(frame, 0, i, Math.min(ulaw.length, i + 160));
      this.#packet(payloadType, n === 0, frame);
      if (payloadType === 0 && rms(frame) > 400) this.lastVoicedSentAt = performance.now();
      this.#ts = (this.#ts + 160) >>> 0;
      const due = start + (n + 1) * 20;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    }
  }

  /** One RFC 4733 digit (PT 101), after anything queued. */
  dtmf(digit: string, payloadType = 101): Promise<void> {
    this.#sending = this.#sending.then(async () => {
      for (const p of dtmfPackets(digit, 100)) {
        this.#packet(payloadType, p.marker, p.payload);
        await new Promise((r) => setTimeout(r, 20));
      }
      this.#ts = (this.#ts + 800) >>> 0;
    });
    return this.#sending;
  }

  #packet(payloadType: number, marker: boolean, payload: Buffer): void {
    if (!this.#target) throw new Error('RtpPeer: no target yet');
    const b = Buffer.allocUnsafe(12 + payload.length);
    writeRtpHeader(b, payloadType, marker, this.#seq, this.#ts, this.#ssrc);
    payload.copy(b, 12);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#socket.send(b, this.#target.port, this.#target.address);
  }

  /** Received packets whose payload is not µ-law silence: the agent actually spoke. */
  voiced(): ReceivedRtp[] {
    return this.received.filter((p) => p.payload.some((b) => b !== 0xff && b !== 0x7f));
  }

  close(): void {
    this.#stopped = true;
    this.#socket.close();
  }
}
