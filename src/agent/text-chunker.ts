/**
 * Cuts a streamed LLM reply into the text chunks sent to TTS.
 *
 * Speech sounds natural only when the synthesizer sees whole phrases, but the
 * first audio must start as soon as possible: so the first chunk is released
 * at a sentence end or at the first clause boundary (`,;:`) once it has a few
 * words, later ones at sentence ends or at clause boundaries past `minChars`, and any chunk that grows past
 * `maxChars` at its last space. `end()` releases whatever is left.
 */
export interface TextChunkerOptions {
  /** Shortest first chunk released at a clause boundary. Default 12 characters. */
  firstMinChars?: number;
  /** Shortest later chunk released at a clause boundary (sentence ends always release). Default 60. */
  minChars?: number;
  /** A chunk longer than this is cut at its last space. Default 160. */
  maxChars?: number;
}

const SENTENCE_END = /[.!?…]["')\]]?\s/;
const CLAUSE_END = /[,;:—]\s/g;

export class TextChunker {
  #buffer = '';
  #emitted = 0;
  readonly #firstMin: number;
  readonly #min: number;
  readonly #max: number;

  constructor(options: TextChunkerOptions = {}) {
    this.#firstMin = options.firstMinChars ?? 12;
    this.#min = options.minChars ?? 60;
    this.#max = options.maxChars ?? 160;
    if (!(this.#firstMin >= 1 && this.#min >= 1 && this.#max >= Math.max(this.#firstMin, this.#min))) {
      throw new RangeError(`text chunker needs 1 <= firstMinChars, minChars <= maxChars; got ${this.#firstMin}, ${this.#min}, ${this.#max}`);
    }
  }

  /** Adds streamed text; returns the chunks it completes (often none). */
  push(text: string): string[] {
    this.#buffer += text;
    const out: string[] = [];
    for (;;) {
      const cut = this.#nextCut();
      if (cut <= 0) break;
      const chunk = this.#buffer.slice(0, cut).trim();
      this.#buffer = this.#buffer.slice(cut);
      if (chunk) {
        out.push(chunk);
        this.#emitted++;
      }
    }
    return out;
  }

  /** The end of the reply: the rest, if any. */
  end(): string[] {
    const rest = this.#buffer.trim();
    this.#buffer = '';
    if (!rest) return [];
    this.#emitted++;
    return [rest];
  }

  /** Drops what was not yet released (barge-in). */
  reset(): void {
    this.#buffer = '';
    this.#emitted = 0;
  }

  #nextCut(): number {
    const b = this.#buffer;
    const sentence = SENTENCE_END.exec(b);
    if (sentence) return sentence.index + sentence[0].length;
    const min = this.#emitted === 0 ? this.#firstMin : this.#min;
    CLAUSE_END.lastIndex = 0;
    for (let m = CLAUSE_END.exec(b); m; m = CLAUSE_END.exec(b)) {
      const end = m.index + m[0].length;
      if (end >= min) return end;
    }
    if (b.length > this.#max) {
      const space = b.lastIndexOf(' ', this.#max);
      return space > 0 ? space + 1 : this.#max;
    }
    return 0;
  }
}
