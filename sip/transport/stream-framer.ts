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
const START_LINE = /^(?:[A-Za-z]+ \S+ SIP\/2\.0|SIP\/2\.0 \d{3}(?: .*)?)$/;
const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*(.*?)[ \t]*$/im;

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
  /** Where the next header-end search starts. */
  #scan = 0;
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

  #drain(out: Frame[]): void {
    for (;;) {
      if (this.#frame === undefined) {
        // §7.5 and RFC 5626 §3.5.1: CRLFs between messages are keepalives; a double CRLF asks for a pong.
        let i = 0;
        while (i < this.#len && (this.#buf[i] === CR || this.#buf[i] === LF)) i++;
        if (i > 0) {
          if (i >= 4 && this.#buf[0] === CR && this.#buf[1] === LF && this.#buf[2] === CR && this.#buf[3] === LF) out.push({ kind: 'ping' });
          if (i === this.#len && i < 4 && this.#buf[0] === CR) return; // maybe the start of a ping; wait
          this.#consume(i);
        }
        if (this.#len === 0) return;
        if (!this.#startChecked && !this.#checkStartLine()) return;
        const end = this.#headerEnd();
        if (end === undefined) return;
        const head = this.#buf.toString('latin1', 0, end.at);
        const m = CONTENT_LENGTH.exec(head);
        // §18.3: on a stream the Content-Length MUST be present; without it there is no next message.
        if (!m) throw new SipParseError('no Content-Length on a stream transport');
        if (!/^\d{1,10}$/.test(m[1]!)) throw new SipParseError(`bad Content-Length '${m[1]!.slice(0, 20)}'`);
        const total = end.at + end.length + Number(m[1]);
        if (total > this.#max) throw new SipLimitError('size', total, this.#max);
        this.#frame = total;
      }
      if (this.#len < this.#frame) return;
      out.push({ kind: 'message', bytes: Buffer.from(this.#buf.subarray(0, this.#frame)) });
      this.#consume(this.#frame);
      this.#frame = undefined;
      this.#startChecked = false;
      this.#scan = 0;
    }
  }

  /** A peer sending something that is not SIP is found on its first line, not after 64 KB of it. */
  #checkStartLine(): boolean {
    const lf = this.#buf.indexOf(LF, 0);
    if (lf < 0 || lf >= this.#len) {
      if (this.#len > this.#maxLine) throw new SipLimitError('line length', this.#len, this.#maxLine);
      return false;
    }
    const line = this.#buf.toString('latin1', 0, lf > 0 && this.#buf[lf - 1] === CR ? lf - 1 : lf);
    if (!START_LINE.test(line)) throw new SipParseError(`not a SIP start line: '${line.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}'`);
    this.#startChecked = true;
    return true;
  }

  /** The first LF LF or LF CR LF at or after the last place searched (the parser's rule: bare LFs happen). */
  #headerEnd(): { at: number; length: number } | undefined {
    const b = this.#buf;
    for (let i = this.#scan; i + 1 < this.#len; i++) {
      if (b[i] !== LF) continue;
      if (b[i + 1] === LF) return { at: i + 1, length: 1 };
      if (b[i + 1] === CR) {
        if (i + 2 >= this.#len) { this.#scan = i; return undefined; }
        if (b[i + 2] === LF) return { at: i + 1, length: 2 };
      }
    }
    this.#scan = Math.max(0, this.#len - 1);
    return undefined;
  }

  #consume(n: number): void {
    this.#buf.copy(this.#buf, 0, n, this.#len);
    this.#len -= n;
  }
}
