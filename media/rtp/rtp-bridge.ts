import { EventEmitter } from 'node:events';
import type { CallMedia } from '../call-media.js';
import { alawToUlaw, ulawToAlaw } from '../codec/g711.js';
import type { DtmfDigit } from './dtmf.js';

export type G711 = 'PCMU' | 'PCMA';

/** One side of a bridge: its media session and the codec negotiated on it. */
export interface BridgeLeg {
  readonly media: CallMedia;
  readonly codec: G711;
}

export interface RtpBridgeStats {
  /** Audio frames sent on to the other leg, per direction. */
  frames: { aToB: number; bToA: number };
  /** DTMF digits sent on (RFC 4733 events), per direction. */
  digits: { aToB: number; bToA: number };
  /** True when the legs' codecs differ and every payload is converted (PCMU ↔ PCMA). */
  transcoding: boolean;
}

export interface RtpBridgeEvents {
  /** One leg's media went silent (RTP timeout) or closed: the bridge has stopped. */
  ended: [why: 'a-timeout' | 'b-timeout' | 'a-closed' | 'b-closed'];
}

const FRAME = 160;

/**
 * Joins two calls' media: what one leg receives is sent on the other. Each
 * leg keeps its own RTP identity (the sending session's SSRC, sequence and
 * timestamp, so a receiver sees one continuous stream whichever source feeds
 * it) and its own RTCP; a lost frame advances the outgoing clock without a
 * packet. Payloads pass unchanged when both legs have the same G.711 law and
 * are converted law-to-law (a table lookup per byte) only when they differ.
 * DTMF arrives decoded (RFC 4733, after the jitter buffer) and leaves as the
 * other leg's own telephone-event packets. Frames other than 20 ms are cut
 * into 20 ms ones, since a session sends 160-byte frames.
 */
export class RtpBridge extends EventEmitter<RtpBridgeEvents> {
  readonly stats: RtpBridgeStats;
  readonly #detach: Array<() => void> = [];
  #stopped = false;

  constructor(a: BridgeLeg, b: BridgeLeg) {
    super();
    this.stats = { frames: { aToB: 0, bToA: 0 }, digits: { aToB: 0, bToA: 0 }, transcoding: a.codec !== b.codec };
    this.#forward(a, b, 'aToB', 'a');
    this.#forward(b, a, 'bToA', 'b');
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  #forward(from: BridgeLeg, to: BridgeLeg, dir: 'aToB' | 'bToA', side: 'a' | 'b'): void {
    const convert = from.codec === to.codec ? undefined : from.codec === 'PCMA' ? alawToUlaw : ulawToAlaw;
    let pending: Buffer | undefined;
    let marker = true;
    const onAudio = (payload: Buffer | null) => {
      if (this.#stopped) return;
      if (payload === null) {
        to.media.sendFrame(null, false);
        marker = true;
        return;
      }
      let data = convert ? Buffer.from(convert(payload)) : payload;
      if (pending) {
        data = Buffer.concat([pending, data]);
        pending = undefined;
      }
      let at = 0;
      for (; at + FRAME <= data.length; at += FRAME) {
        to.media.sendFrame(data.subarray(at, at + FRAME), marker);
        marker = false;
        this.stats.frames[dir]++;
      }
      // The rest waits for the next packet; a copy, since the payload is a view on a reused datagram.
      if (at < data.length) pending = Buffer.from(data.subarray(at));
    };
    const onDtmf = (d: DtmfDigit) => {
      if (this.#stopped || !d.end) return;
      this.stats.digits[dir]++;
      to.media.sendDtmf(d.digit, Math.max(40, Math.round(d.duration / 8))).catch(() => undefined);
    };
    const onTimeout = () => this.#end(`${side}-timeout`);
    const onClose = () => this.#end(`${side}-closed`);
    from.media.on('audio', onAudio);
    from.media.on('dtmf', onDtmf);
    from.media.on('timeout', onTimeout);
    from.media.on('close', onClose);
    const m = from.media as unknown as EventEmitter;
    this.#detach.push(() => {
      m.off('audio', onAudio);
      m.off('dtmf', onDtmf);
      m.off('timeout', onTimeout);
      m.off('close', onClose);
    });
  }

  #end(why: RtpBridgeEvents['ended'][0]): void {
    if (this.#stopped) return;
    this.stop();
    this.emit('ended', why);
  }

  /** Stops forwarding; the legs' sessions stay open (their owners close them). Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const d of this.#detach.splice(0)) d();
  }
}
