import { TelephoneEvent } from './telephone-event.js';

export interface DtmfDigit {
  digit: string;
  /** duration in timestamp units (8 kHz → 8 per ms) */
  duration: number;
  end: boolean;
}

/**
 * RFC 4733 receiver: one event per digit. §2.5.1.3: the end packet "SHOULD be retransmitted"
 * (three times), all with the same timestamp — the event's identity is its RTP timestamp.
 */
export class DtmfReceiver {
  private lastEndTs = -1;
  private currentTs = -1;
  constructor(private readonly onDigit: (d: DtmfDigit) => void) {}

  push(timestamp: number, payload: Buffer): void {
    const ev = TelephoneEvent.deSerialize(payload);
    const digit = ev.digit;
    if (digit === null) return;
    if (ev.end) {
      if (timestamp === this.lastEndTs) return;
      this.lastEndTs = timestamp;
      this.currentTs = -1;
      this.onDigit({ digit, duration: ev.duration, end: true });
      return;
    }
    if (timestamp !== this.currentTs && timestamp !== this.lastEndTs) {
      this.currentTs = timestamp;
      this.onDigit({ digit, duration: ev.duration, end: false });
    }
  }
}

/**
 * RFC 4733 sender: the payloads to send, one per 20 ms, for one digit. All share the event's
 * start timestamp (§2.5.1.2); the first carries the marker bit; the end packet goes 3 times.
 */
export function dtmfPackets(digit: string, durationMs = 100, volume = 10): { payload: Buffer; marker: boolean }[] {
  const out: { payload: Buffer; marker: boolean }[] = [];
  const total = Math.max(20, Math.round(durationMs / 20) * 20) * 8;
  for (let d = 160; d < total; d += 160) {
    out.push({ payload: TelephoneEvent.fromDigit(digit, volume, d, false).serialize(), marker: d === 160 });
  }
  const end = TelephoneEvent.fromDigit(digit, volume, total, true).serialize();
  for (let i = 0; i < 3; i++) out.push({ payload: end, marker: out.length === 0 });
  return out;
}
