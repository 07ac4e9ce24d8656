import { EventEmitter } from 'node:events';
import type { AgentConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Lease, LeaseSource } from '../pools/index.js';
import type { ChatMessage, CrmSession, DeepgramConnection, ElevenLabsConnection, LlmSession, ToolCall, Transcript } from '../upstreams/index.js';
import { CallerAudio } from './caller-audio.js';
import { TurnOverError } from './errors.js';
import { TextChunker } from './text-chunker.js';
import { TOOL_DEFINITIONS, runTool, transferTarget } from './tools.js';
import { TurnTimeline, type TurnRecord } from './turn-timeline.js';
import { TurnVoice } from './turn-voice.js';

/** Where one agent gets its connections: in the gateway, the warm pools of its language's ASR and its voice's TTS. */
export interface AgentUpstreams {
  asr: LeaseSource<DeepgramConnection>;
  tts: LeaseSource<ElevenLabsConnection>;
  llm: LeaseSource<LlmSession>;
  crm: LeaseSource<CrmSession>;
}

export interface AgentSessionOptions {
  callId: string;
  /** The caller's number, for caller lookup. */
  callerNumber: string;
  profile: AgentConfig;
  /** What the call's signalling said about it (src/calls/call-context.ts), appended to the system prompt. */
  context?: string;
  upstreams: AgentUpstreams;
  log: Logger;
  /** µ-law 8 kHz audio for the caller: the call hands it to the pacer. */
  playAudio(ulaw: Buffer): void;
  /** Drops audio queued but not yet played (barge-in). */
  flushAudio(): void;
  /** Resolves when everything handed to playAudio() has been played out: the agent is still talking until then. */
  playbackDone(): Promise<void>;
  /** The `transfer_call` tool: the call checks the target and answers with the JSON the model reads. */
  transfer?(target: string | undefined): string;
}

export interface AgentSessionEvents {
  /** A turn ended (completed, barged in, failed). */
  turn: [TurnRecord];
  /** Something failed that the agent did not expect (a bug, not an upstream fault): its owner should end the call. */
  failed: [err: unknown];
}

const APOLOGY = "I'm sorry, I'm having trouble answering right now. Could you say that again?";
const MAX_TOOL_ROUNDS = 2;
/**
 * Why a finished turn's pending work stops: every turn of every call ends this way, and
 * `abort()` without a reason builds a DOMException with a stack trace each time: one instance,
 * built at load, serves them all.
 */
const TURN_OVER = new TurnOverError({});

interface ActiveTurn {
  readonly timeline: TurnTimeline;
  readonly abort: AbortController;
  /** The turn's speech: its TTS lease, replaced if lost mid-turn (turn-voice.ts). */
  readonly voice: TurnVoice;
  /** Speech the caller may interrupt has started playing. */
  speaking: boolean;
}

/**
 * One call's agent: caller audio streams to a leased ASR socket; each final
 * utterance starts a turn (LLM over a warm HTTP/2 session → text chunks →
 * TTS context → audio to the pacer); caller speech during the agent's speech
 * cancels it (barge-in). Every lease is returned or destroyed by end().
 *
 * Leases: the ASR socket for the whole call (its stream carries the call's
 * audio); TTS, LLM and CRM per turn, since one multiplexed connection serves
 * many calls and a single-stream TTS socket ends with its turn anyway.
 */
export class AgentSession extends EventEmitter<AgentSessionEvents> {
  readonly #o: AgentSessionOptions;
  readonly #log: Logger;
  readonly #audio = new CallerAudio();
  readonly #history: ChatMessage[];
  #asr: Lease<DeepgramConnection> | undefined;
  /**
   * Added to a transcript's stream time to get call time. A warm socket's stream
   * has carried other calls' audio before this one, and audio that arrived
   * before the lease was not sent on it: neither clock starts at the other's 0.
   */
  #asrBase = 0;
  #replacingAsr: Promise<void> | undefined;
  #turn: ActiveTurn | undefined;
  #turns = 0;
  #utterance: string[] = [];
  #utteranceEnd = 0;
  #ended = false;
  readonly records: TurnRecord[] = [];

  constructor(o: AgentSessionOptions) {
    super();
    this.#o = o;
    this.#log = o.log.child({ callId: o.callId, component: 'agent' });
    this.#history = [{ role: 'system', content: o.context ? `${o.profile.systemPrompt}\n\n${o.context}` : o.profile.systemPrompt }];
  }

  /** Leases the ASR socket and speaks the greeting. */
  async start(): Promise<void> {
    await this.#attachAsr();
    if (this.#o.profile.greeting) this.#own(this.#speakTurn(this.#o.profile.greeting, 'greeting'));
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** What the caller and the agent said so far, in order (the demo page shows it). */
  get transcript(): Array<{ from: 'caller' | 'agent'; text: string }> {
    return this.#history.flatMap((m): Array<{ from: 'caller' | 'agent'; text: string }> =>
      m.role === 'user' ? [{ from: 'caller', text: m.content }] : m.role === 'assistant' && m.content ? [{ from: 'agent', text: m.content }] : []);
  }

  /** µ-law 8 kHz from the caller, in arrival order (the jitter buffer's output). */
  pushCallerAudio(ulaw: Buffer): void {
    if (this.#ended) return;
    this.#audio.push(ulaw);
    // While the ASR socket is being replaced, audio waits in CallerAudio and is resent whole.
    if (!this.#replacingAsr) this.#asr?.conn.sendAudio(ulaw);
  }

  /** A DTMF digit (RFC 4733 or SIP INFO): a turn of its own. */
  dtmf(digit: string): void {
    if (this.#ended) return;
    this.#bargeIn('dtmf');
    this.#own(this.#runTurn(`[dtmf ${digit}]`, performance.now()));
  }

  /** Speaks a line of the call's own (a transfer's announcement): resolves once it has been heard. */
  say(text: string): Promise<void> {
    return this.#speakTurn(text, 'announcement');
  }

  /** Tells the model what happened outside its turns (a transfer that failed), for its next reply. */
  inform(note: string): void {
    this.#history.push({ role: 'system', content: note });
  }

  /** The pacer sent the first frame of the agent's audio for this turn. */
  audioPlayed(): void {
    this.#turn?.timeline.mark('firstRtpOut');
  }

  /** Ends the session: the current turn stops, every lease goes back. Idempotent. */
  end(reason = 'hangup'): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#turn) this.#finishTurn(this.#turn, reason === 'hangup' ? 'hung-up' : 'failed');
    this.#asr?.release();
    this.#asr = undefined;
    this.#log.debug({ reason }, 'agent session ended');
  }

  /**
   * The owner of a turn started without await: turns handle the failures they
   * expect (no upstream, a broken stream); anything else ends that turn as
   * failed, is logged and reported ('failed': the call ends and its ledger
   * returns every lease), and never reaches Node as an unhandled rejection.
   */
  #own(turn: Promise<void>): void {
    turn.catch((err: unknown) => {
      this.#log.error({ err }, 'turn failed unexpectedly');
      // This handler must not throw in turn: its own rejection would have no owner.
      try {
        if (this.#turn) this.#finishTurn(this.#turn, 'failed');
        this.emit('failed', err);
      } catch (again) {
        this.#log.error({ err: again }, 'ending the failed turn failed too');
      }
    });
  }

  async #attachAsr(): Promise<void> {
    const lease = await this.#o.upstreams.asr.acquire();
    if (this.#ended) {
      lease.release();
      return;
    }
    this.#asr = lease;
    const conn = lease.conn;
    this.#asrBase = this.#audio.total / 8000 - conn.streamSeconds;
    conn.on('transcript', (t) => this.#onTranscript(t));
    conn.on('speech-started', () => this.#bargeIn('speech'));
    conn.on('utterance-end', () => this.#utteranceDone());
    lease.on('lost', (err) => {
      if (this.#ended) return;
      this.#log.warn({ err: err.message }, 'ASR socket lost mid-call: replacing and resending unacknowledged audio');
      this.#asr = undefined;
      this.#replacingAsr = this.#replaceAsr().finally(() => { this.#replacingAsr = undefined; });
    });
  }

  async #replaceAsr(): Promise<void> {
    try {
      await this.#attachAsr();
      const { audio, startSeconds } = this.#audio.unacknowledged();
      if (this.#asr) this.#asrBase = startSeconds - this.#asr.conn.streamSeconds;
      if (audio.length) this.#asr?.conn.sendAudio(audio);
    } catch (err) {
      this.#log.error({ err }, 'no ASR socket to replace the lost one');
    }
  }

  #onTranscript(t: Transcript): void {
    if (this.#ended) return;
    if (!t.isFinal) {
      if (t.text) this.#bargeIn('speech');
      return;
    }
    const end = this.#asrBase + t.start + t.duration;
    this.#audio.acknowledge(end);
    if (t.text) {
      this.#utterance.push(t.text);
      this.#utteranceEnd = end;
    }
    if (t.speechFinal) this.#utteranceDone();
  }

  #utteranceDone(): void {
    if (this.#utterance.length === 0) return;
    const text = this.#utterance.join(' ');
    this.#utterance = [];
    const speechEndAt = this.#audio.arrivalOf(this.#utteranceEnd) ?? performance.now();
    this.#own(this.#runTurn(text, speechEndAt));
  }

  /** Caller speech (or a key) while the agent talks: stop talking now. */
  #bargeIn(why: string): void {
    const turn = this.#turn;
    if (!turn || !turn.speaking) return;
    this.#log.debug({ turn: turn.timeline.turn, why }, 'barge-in');
    this.#finishTurn(turn, 'barged-in');
  }

  #finishTurn(turn: ActiveTurn, outcome: TurnRecord['outcome']): void {
    if (this.#turn !== turn) return;
    this.#turn = undefined;
    turn.abort.abort(TURN_OVER);
    turn.voice.close(outcome !== 'completed');
    if (outcome !== 'completed') this.#o.flushAudio();
    turn.timeline.outcome = outcome;
    turn.timeline.mark('done');
    const record = turn.timeline.toJSON();
    this.records.push(record);
    this.#log.info({ turn: record }, 'turn');
    this.emit('turn', record);
  }

  /** The greeting (and the apology): text straight to TTS, no LLM. */
  async #speakTurn(text: string, kind: string): Promise<void> {
    const turn = await this.#beginTurn(kind, performance.now());
    if (!turn) return;
    try {
      turn.voice.speak(text);
      await this.#finishSpeech(turn);
      if (!turn.voice.fellBack) this.#history.push({ role: 'assistant', content: text });
      this.#finishTurn(turn, turn.voice.fellBack ? 'failed' : 'completed');
    } catch (err) {
      this.#log.warn({ err }, `${kind} could not be spoken`);
      this.#finishTurn(turn, 'failed');
    }
  }

  async #beginTurn(text: string, speechEndAt: number): Promise<ActiveTurn | undefined> {
    if (this.#ended) return undefined;
    if (this.#turn) this.#finishTurn(this.#turn, 'barged-in');
    const abort = new AbortController();
    const timeline = new TurnTimeline(++this.#turns, speechEndAt);
    const onAudio = (buf: Buffer) => {
      if (this.#turn !== turn) return;
      turn.timeline.mark('ttsFirstAudio');
      turn.speaking = true;
      this.#o.playAudio(buf);
    };
    const turn: ActiveTurn = { timeline, abort, speaking: false, voice: new TurnVoice({ tts: this.#o.upstreams.tts, signal: abort.signal, timeline, log: this.#log, onAudio }) };
    turn.timeline.text = text;
    this.#turn = turn;
    // No socket at all for the turn: the voice has played the apology clip (fellBack) and the turn says nothing more.
    await turn.voice.open();
    return this.#turn === turn ? turn : undefined;
  }

  /**
   * Flushes the context, waits for its last audio, then for the caller to
   * have heard it: until then the caller can still barge in.
   */
  async #finishSpeech(turn: ActiveTurn): Promise<void> {
    const aborted = new Promise<void>((resolve) => turn.abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([turn.voice.flush(), aborted]);
    if (!turn.abort.signal.aborted) await Promise.race([this.#o.playbackDone(), aborted]);
  }

  async #runTurn(text: string, speechEndAt: number): Promise<void> {
    const turn = await this.#beginTurn(text, speechEndAt);
    if (!turn) return;
    turn.timeline.mark('asrFinal');
    this.#history.push({ role: 'user', content: text });
    const chunker = new TextChunker();
    let spoken = '';
    const say = (chunks: string[]) => {
      for (const c of chunks) {
        turn.voice.speak(c);
        spoken += `${c} `;
      }
    };
    let failures = 0;
    let toolRounds = 0;
    // One retry on another session, then an apology: the caller never hears silence.
    while (!turn.abort.signal.aborted && !turn.voice.fellBack) {
      const lease = await this.#o.upstreams.llm.acquire({ signal: turn.abort.signal }).catch((err: unknown) => {
        this.#log.warn({ err }, 'no LLM session for the turn');
        return undefined;
      });
      if (turn.abort.signal.aborted) {
        lease?.release();
        return;
      }
      if (!lease) {
        if (++failures > 1) {
          say([APOLOGY]);
          break;
        }
        continue;
      }
      turn.timeline.acquired('llm', lease.acquireMs, lease.waited);
      const calls: ToolCall[] = [];
      try {
        const tools = this.#o.profile.tools.map((n) => TOOL_DEFINITIONS[n]);
        for await (const e of lease.conn.chat({ leaseId: lease.id, messages: this.#history, tools, signal: turn.abort.signal })) {
          if (e.type === 'text') {
            turn.timeline.mark('llmFirstToken');
            say(chunker.push(e.text));
          } else if (e.type === 'tool_call') calls.push(e.call);
        }
        lease.release();
      } catch (err) {
        lease.destroy(err instanceof Error ? err : undefined);
        if (turn.abort.signal.aborted) return;
        this.#log.warn({ err, attempt: failures + 1 }, 'LLM stream failed');
        if (++failures > 1 || spoken) {
          if (!spoken) say([APOLOGY]);
          break;
        }
        continue;
      }
      say(chunker.end());
      if (calls.length === 0 || ++toolRounds > MAX_TOOL_ROUNDS) break;
      this.#history.push({ role: 'assistant', content: '', toolCalls: calls });
      for (const call of calls) {
        const result = await this.#callTool(turn, call);
        this.#history.push({ role: 'tool', toolCallId: call.id, name: call.name, content: result });
      }
    }
    if (turn.abort.signal.aborted) return;
    // A reply the caller never heard (the clip played instead) stays out of the history.
    if (spoken && !turn.voice.fellBack) this.#history.push({ role: 'assistant', content: spoken.trim() });
    await this.#finishSpeech(turn);
    this.#finishTurn(turn, failures > 1 || turn.voice.fellBack ? 'failed' : 'completed');
  }

  async #callTool(turn: ActiveTurn, call: ToolCall): Promise<string> {
    if (call.name === 'transfer_call') return this.#o.transfer?.(transferTarget(call.arguments)) ?? JSON.stringify({ error: 'transfers are not available on this call' });
    const lease = await this.#o.upstreams.crm.acquire({ signal: turn.abort.signal }).catch(() => undefined);
    if (!lease) return JSON.stringify({ error: 'the CRM is not reachable' });
    turn.timeline.acquired('crm', lease.acquireMs, lease.waited);
    try {
      return await runTool(lease.conn, lease.id, call, this.#o.callerNumber, turn.abort.signal);
    } finally {
      lease.release();
    }
  }
}
