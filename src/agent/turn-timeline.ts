/**
 * What one agent turn cost, mark by mark. Times are milliseconds on the
 * monotonic clock (performance.now()); `toJSON()` reports them relative to the
 * caller's end of speech, the moment the caller starts waiting.
 */
export type TurnMark = 'speechEnd' | 'asrFinal' | 'llmFirstToken' | 'ttsFirstAudio' | 'firstRtpOut' | 'done';

export const TURN_MARKS: readonly TurnMark[] = ['speechEnd', 'asrFinal', 'llmFirstToken', 'ttsFirstAudio', 'firstRtpOut', 'done'];

export interface TurnRecord {
  readonly turn: number;
  readonly text: string;
  /** Milliseconds from speechEnd to each mark reached. */
  readonly marks: Partial<Record<TurnMark, number>>;
  /** Acquisition time per upstream leased inside the turn. */
  readonly acquireMs: Readonly<Record<string, number>>;
  /** Connections opened inside the turn: 0 when every upstream was warm. */
  readonly connectionsOpened: number;
  readonly outcome: 'completed' | 'barged-in' | 'failed' | 'hung-up' | 'open';
}

export class TurnTimeline {
  readonly turn: number;
  text = '';
  outcome: TurnRecord['outcome'] = 'open';
  connectionsOpened = 0;
  readonly #at: Partial<Record<TurnMark, number>> = {};
  readonly #acquire: Record<string, number> = {};

  constructor(turn: number, speechEndAt: number = performance.now()) {
    this.turn = turn;
    this.#at.speechEnd = speechEndAt;
  }

  /** Records a mark the first time it is reached; later calls keep the first. */
  mark(name: TurnMark, at: number = performance.now()): void {
    if (this.#at[name] === undefined) this.#at[name] = at;
  }

  has(name: TurnMark): boolean {
    return this.#at[name] !== undefined;
  }

  acquired(upstream: string, ms: number, opened: boolean): void {
    this.#acquire[upstream] = ms;
    if (opened) this.connectionsOpened++;
  }

  /** Speech end to first RTP packet of the reply: what the caller hears as latency. */
  get responseMs(): number | undefined {
    const end = this.#at.speechEnd;
    const rtp = this.#at.firstRtpOut;
    return end === undefined || rtp === undefined ? undefined : rtp - end;
  }

  toJSON(): TurnRecord {
    const start = this.#at.speechEnd ?? 0;
    const marks: Partial<Record<TurnMark, number>> = {};
    for (const m of TURN_MARKS) {
      const at = this.#at[m];
      if (at !== undefined) marks[m] = Math.round((at - start) * 1000) / 1000;
    }
    return { turn: this.turn, text: this.text, marks, acquireMs: { ...this.#acquire }, connectionsOpened: this.connectionsOpened, outcome: this.outcome };
  }
}
