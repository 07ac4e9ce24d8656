import { MediaError } from '../errors.js';

/**
 * RFC 4733 §2.3:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     event     |E|R| volume    |          duration             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export const DTMF_DIGITS = '0123456789*#ABCD';

export class TelephoneEvent {
  constructor(
    public event: number,
    public end: boolean,
    public volume: number,
    public duration: number,
  ) {}

  get digit(): string | null {
    return DTMF_DIGITS[this.event] ?? null;
  }

  static deSerialize(buf: Buffer): TelephoneEvent {
    if (buf.length < 4) {
      throw new MediaError('MEDIA_ERR_DTMF_MALFORMED', 'telephone-event payload shorter than 4 octets', { length: buf.length });
    }
    return new TelephoneEvent(buf[0]!, (buf[1]! & 0x80) !== 0, buf[1]! & 0x3f, buf.readUInt16BE(2));
  }

  serialize(): Buffer {
    const out = Buffer.alloc(4);
    out[0] = this.event;
    out[1] = (this.end ? 0x80 : 0) | (this.volume & 0x3f);
    out.writeUInt16BE(Math.min(this.duration, 0xffff), 2);
    return out;
  }

  static fromDigit(digit: string, volume = 10, duration = 0, end = false): TelephoneEvent {
    const event = DTMF_DIGITS.indexOf(digit.toUpperCase());
    if (digit.length !== 1 || event < 0) {
      throw new MediaError('MEDIA_ERR_DTMF_MALFORMED', `not a DTMF digit: ${JSON.stringify(digit)}`, { digit });
    }
    return new TelephoneEvent(event, end, volume, duration);
  }
}
