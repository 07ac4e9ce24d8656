import { SipLimitError, SipParseError } from '../errors.js';
import type { ParseLimits } from '../message/index.js';

/** What the framer found in the bytes pushed so far. */
export type Frame =
  | { kind: 'message'; bytes: Buffer }
  /** RFC 5626 §3.5.1: a CRLFCRLF "ping" that wants a CRLF "pong". */
  | { kind: 'ping' }
  /** The stream cannot be framed from here on (always the last frame; the framer stays broken). */
  | { kind: 'error'; error: SipLimitError | SipParseError };

const CR = 0x0d;
const LF = 0x0a;
/**
 * Loose on purpose: a token method (RFC 4475 §3.1.1.2), any spacing and any
 * version, so that a malformed but framable request reaches the parser and
 * gets its 400 or 505 instead of costing the peer its connection.
 */
const START_LINE = /^(?:[A-Za-z0-9.!%*_+`'~-]+[ \t]+\S.*SIP\/\d+\.\d+[ \t]*|SIP\/\d+\.\d+ \d{3}(?: .*)?)$/;
const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*(.*?)[ \t]*$/gim;

/**
 * Cuts a byte stream (TCP, TLS) into SIP messages by Content-Length
 * (RFC 3261 §18.3), whatever the chunking: a message split across many reads
 * or several messages in one read. Bytes are copied once into a buffer that
 * grows by doubling up to `maxMessageBytes`, and the search for the end of
 * the headers resumes where it stopped, so a peer trickling one byte per read
 * costs linear time, not quadratic.
 *
 * Ends with an `error` frame carrying a SipLimitError when a message (or
 * the bytes waiting to become one) would exceed `maxMessageBytes`, or a
 * SipParseError when the stream cannot be framed (not SIP, a missing or
 * unreadable Content-Length). The messages framed before it are still
 * returned (they deserve their answers); after it the framing is lost, the
 * framer drops everything, and the caller must close the connection.
 */
export class StreamFramer {
  readonly #max: number;
  readonly #maxLine: number;
  #buf: Buffer;
  #len = 0;
  /** Where the next header-end search starts (an index into #buf). */
  #scan = 0;
  /** Where the unread bytes start; everything before was framed during this push. */
  #start = 0;
  /** Whole frame length once the headers of the current message were read. */
  #frame: number | undefined;
  #startChecked = false;

  constructor(limits: Pick<ParseLimits, 'maxMessageBytes' | 'maxLineBytes'>) {
    this.#max = limits.maxMessageBytes;
    this.#maxLine = limits.maxLineBytes;
    this.#buf = Buffer.allocUnsafe(Math.min(4096, this.#max));
  }

  /** Bytes held, waiting for the rest of a message. */
  get buffered(): number {
    return this.#len;
  }

  /** Whether an error frame was returned (every later byte is ignored). */
  get broken(): boolean {
    return this.#broken;
  }

  #broken = false;

  push(chunk: Buffer): Frame[] {
    const out: Frame[] = [];
    if (this.#broken) return out;
    let off = 0;
    try {
      while (off < chunk.length) {
        const room = this.#max - this.#len;
        if (room <= 0) throw new SipLimitError('size', this.#len + (chunk.length - off), this.#max);
        const take = Math.min(room, chunk.length - off);
        this.#append(chunk, off, take);
        off += take;
        this.#drain(out);
      }
    } catch (err) {
      if (!(err instanceof SipLimitError || err instanceof SipParseError)) throw err;
      this.#broken = true;
      this.#len = 0;
      this.#buf = Buffer.alloc(0);
      out.push({ kind: 'error', error: err });
    }
    return out;
  }

  #append(chunk: Buffer, off: number, n: number): void {
    if (this.#len + n > this.#buf.length) {
      let cap = this.#buf.length;
      while (cap < this.#len + n) cap *= 2;
      const next = Buffer.allocUnsafe(Math.min(cap, this.#max));
      this.#buf.copy(next, 0, 0, this.#len);
      this.#buf = next;
    }
    chunk.copy(this.#buf, this.#len, off, off + n);
    this.#len += n;
  }

  /**
   * Cuts every whole frame out of [#start, #len). Frames are read in place by
   * advancing #start; the leftover is moved to the front once, after the
   * loop, so a read holding many messages costs one copy, not one per message.
   */
  #drain(out: Frame[]): void {
    try {
      this.#cut(out);
    } finally {
      if (this.#start > 0) {
        this.#buf.copy(this.#buf, 0, this.#start, this.#len);
        this.#len -= this.#start;
        this.#scan = Math.max(0, this.#scan - this.#start);
        this.#start = 0;
      }
    }
  }

  #cut(out: Frame[]): void {
    const b = this.#buf;
    for (;;) {
      if (this.#frame === undefined) {
        // §7.5 and RFC 5626 §3.5.1: CRLFs between messages are keepalives; a double CRLF asks for a pong.
        const s0 = this.#start;
        let i = s0;
        while (i < this.#len && (b[i] === CR || b[i] === LF)) i++;
        if (i > s0) {
          if (i - s0 >= 4 && b[s0] === CR && b[s0 + 1] === LF && b[s0 + 2] === CR && b[s0 + 3] === LF) out.push({ kind: 'ping' });
          else if (i === this.#len && i - s0 < 4 && b[s0] === CR) return; // maybe the start of a ping; wait
          this.#start = i;
          this.#scan = i;
        }
        if (this.#start === this.#len) return;
        if (!this.#startChecked && !this.#checkStartLine()) return;
        const end = this.#headerEnd();
        if (end === undefined) return;
        const head = b.toString('latin1', this.#start, end.at);
        const all = [...head.matchAll(CONTENT_LENGTH)];
        const m = all[0];
        // §18.3: on a stream the Content-Length MUST be present; without it there is no next message.
        if (!m) throw new SipParseError('no Content-Length on a stream transport', { kind: 'framing' });
        // RFC 4475 §3.3.9: two of them leave the framing unknowable; the connection must go.
        if (all.length > 1) throw new SipParseError('more than one Content-Length on a stream transport', { kind: 'framing' });
        if (!/^\d{1,10}$/.test(m[1]!)) throw new SipParseError(`bad Content-Length '${m[1]!.slice(0, 20).replace(/[^\x20-\x7e]/g, '?')}'`, { kind: 'framing' });
        const total = end.at + end.length - this.#start + Number(m[1]);
        if (total > this.#max) throw new SipLimitError('size', total, this.#max);
        this.#frame = total;
      }
      if (this.#len - this.#start < this.#frame) return;
      out.push({ kind: 'message', bytes: Buffer.from(b.subarray(this.#start, this.#start + this.#frame)) });
      this.#start += this.#frame;
      this.#scan = this.#start;
      this.#frame = undefined;
      this.#startChecked = false;
    }
  }

  /** A peer sending something that is not SIP is found on its first line, not after 64 KB of it. */
  #checkStartLine(): boolean {
    const lf = this.#buf.subarray(this.#start, this.#len).indexOf(LF);
    if (lf < 0) {
      if (this.#len - this.#start > this.#maxLine) throw new SipLimitError('line length', this.#len - this.#start, this.#maxLine);
      return false;
    }
    const at = this.#start + lf;
    const line = this.#buf.toString('latin1', this.#start, lf > 0 && this.#buf[at - 1] === CR ? at - 1 : at);
    if (!START_LINE.test(line)) throw new SipParseError(`not a SIP start line: '${line.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}'`, { kind: 'framing' });
    this.#startChecked = true;
    return true;
  }

  /** The first LF LF or LF CR LF at or after the last place searched (the parser's rule: bare LFs happen). */
  #headerEnd(): { at: number; length: number } | undefined {
    const b = this.#buf;
    for (let i = Math.max(this.#scan, this.#start); i + 1 < this.#len; i++) {
      if (b[i] !== LF) continue;
      if (b[i + 1] === LF) return { at: i + 1, length: 1 };
      if (b[i + 1] === CR) {
        if (i + 2 >= this.#len) { this.#scan = i; return undefined; }
        if (b[i + 2] === LF) return { at: i + 1, length: 2 };
      }
    }
    this.#scan = Math.max(this.#start, this.#len - 1);
    return undefined;
  }
}
