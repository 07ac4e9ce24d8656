import { sendRefer, type ReferDialog, type ReferOutcome } from '../../sip/index.js';
import { RtpBridge, type BridgeLeg, type CallMedia, type G711 } from '../../media/index.js';
import type { TransferConfig, TransferTargetConfig } from '../config/index.js';
import { defineError } from '../errors.js';
import type { Logger } from '../log.js';
import { CallEndedError } from './errors.js';

export const TransferTargetError = defineError<{ target: string; agent: string }>(
  'WL_ERR_TRANSFER_TARGET', 'TransferTargetError',
  (c) => `"${c.target}" is not a transfer target agent "${c.agent}" may use (transfer.targets)`,
);
export const TransferStateError = defineError<{ callId: string; state: string }>(
  'WL_ERR_TRANSFER_STATE', 'TransferStateError',
  (c) => `call ${c.callId} cannot be transferred now (${c.state})`,
);
export const TransferFailedError = defineError<{ callId: string; target: string; refer: string; fallback: string }>(
  'WL_ERR_TRANSFER_FAILED', 'TransferFailedError',
  (c) => `the transfer of call ${c.callId} to ${c.target} failed: REFER ${c.refer}; fallback ${c.fallback}`,
);

/** The target's leg, dialed by the gateway (outbound calling provides it). */
export interface DialedLeg {
  readonly media: CallMedia;
  readonly codec: G711;
  /** Our side hangs up (BYE, or CANCEL while ringing); idempotent. */
  hangup(): Promise<void>;
  /** Resolves (never rejects) when the leg ends, whichever side ended it. */
  readonly ended: Promise<string>;
}

export interface DialOptions {
  /** The caller's number, shown to the person (a trunk may override it). */
  from: string;
  /** G.711 laws to offer, preferred first: the caller's own first, so no conversion is needed. */
  codecs: readonly G711[];
  /** Ringing longer than this is a failure (CANCEL). */
  timeoutMs: number;
  signal: AbortSignal;
}

/** Places the fallback's call to the target; rejects when it is not answered. */
export interface Dialer {
  dial(target: string, o: DialOptions): Promise<DialedLeg>;
}

/** How far a call's transfer got, shown in /api/calls. */
export interface TransferStatus {
  target: string;
  state: 'announcing' | 'referring' | 'dialing' | 'bridged' | 'transferred' | 'failed';
  /** Why it failed, when it did. */
  detail?: string;
}

/** What a transfer needs of the call it moves (Call provides it; tests may too). */
export interface TransferableCall {
  readonly id: string;
  readonly agentName: string;
  readonly caller: string;
  readonly state: string;
  /** Undefined: no dialog REFER can go in (a call we placed): the transfer is refused as not possible now. */
  readonly dialog: (ReferDialog & { readonly state: string }) | undefined;
  readonly media: BridgeLeg | undefined;
  transfer: TransferStatus | undefined;
  readonly agent: { say(text: string): Promise<void>; inform(note: string): void; readonly ended: boolean } | undefined;
  /** The agent leaves: every upstream lease goes back, its audio stops; the dialog and RTP stay. */
  releaseAgent(): void;
  end(reason: 'transferred'): void;
  once(event: 'ended', listener: (reason: string) => void): unknown;
  once(event: 'turn', listener: () => void): unknown;
}

export type TransferOutcome =
  | { ok: true; via: 'refer' | 'bridge'; target: string }
  | { ok: false; code: 'transfer-failed'; target: string; refer: string; fallback: string };

const SORRY = "I'm sorry, I couldn't connect you.";
/** The turn that called the tool normally ends in seconds; a stuck one must not hold the transfer forever. */
const TURN_WAIT_MS = 20_000;

/**
 * Transfer to a person: blind by REFER (RFC 3515) when the carrier takes it,
 * else — when `transfer.fallback` is on and a dialer exists — the gateway
 * dials the target and bridges the two legs' RTP itself. The agent leaves the
 * call (its leases go back) at the final 2xx NOTIFY, or when the bridge is up;
 * a transfer that fails hands the call back to the agent, which is told why.
 */
export class Transfers {
  readonly #config: TransferConfig;
  readonly #dialer: Dialer | undefined;
  readonly #log: Logger;
  readonly #running = new Set<string>();

  constructor(o: { config: TransferConfig; dialer?: Dialer | undefined; log: Logger }) {
    this.#config = o.config;
    this.#dialer = o.dialer;
    this.#log = o.log.child({ component: 'transfer' });
  }

  /** The allowlisted target `name` (or its exact URI) for this agent; throws TransferTargetError otherwise. */
  resolve(agent: string, name: string): TransferTargetConfig {
    const t = this.#config.targets.find((x) => x.name === name || x.uri === name);
    if (!t || !(t.agents.includes('*') || t.agents.includes(agent))) throw new TransferTargetError({ target: name, agent });
    return t;
  }

  /** The names this agent may transfer to (what the model is told when it asks for another). */
  targetsFor(agent: string): string[] {
    return this.#config.targets.filter((t) => t.agents.includes('*') || t.agents.includes(agent)).map((t) => t.name);
  }

  /**
   * The `transfer_call` tool: checks the target now and answers the model at
   * once; the transfer itself starts when the turn that asked for it is over,
   * so the caller hears the model's short line before being handed on.
   */
  fromTool(call: TransferableCall, target: string | undefined): string {
    let t: TransferTargetConfig;
    try {
      t = this.resolve(call.agentName, target ?? '');
    } catch {
      return JSON.stringify({ error: `no transfer target "${target ?? ''}"`, targets: this.targetsFor(call.agentName) });
    }
    if (this.#running.has(call.id)) return JSON.stringify({ error: 'a transfer is already in progress' });
    const turnOver = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, TURN_WAIT_MS);
      call.once('turn', () => { clearTimeout(timer); resolve(); });
    });
    turnOver.then(() => this.run(call, t.name)).then((o) => {
      this.#log.info({ call: call.id, outcome: o }, 'transfer asked by the agent');
    }, (err: unknown) => this.#log.warn({ err, call: call.id }, 'transfer asked by the agent not started'));
    return JSON.stringify({ transferring: t.name, note: 'say one short line to the caller (for example that you are connecting them); the transfer starts when you finish' });
  }

  /**
   * Runs one transfer to completion. Throws TransferTargetError or
   * TransferStateError before anything is sent; otherwise resolves with the
   * outcome, a failure included (`transfer-failed`, the call back with its agent).
   */
  async run(call: TransferableCall, name: string, o: { say?: string } = {}): Promise<TransferOutcome> {
    const target = this.resolve(call.agentName, name);
    const dialog = call.dialog;
    if (!dialog) throw new TransferStateError({ callId: call.id, state: 'a call we placed (REFER is sent on inbound calls only)' });
    if (call.state !== 'active' || dialog.state !== 'confirmed' || this.#running.has(call.id)) {
      throw new TransferStateError({ callId: call.id, state: this.#running.has(call.id) ? 'a transfer is in progress' : `call ${call.state}, dialog ${dialog.state}` });
    }
    this.#running.add(call.id);
    const log = this.#log.child({ call: call.id, target: target.name });
    try {
      call.transfer = { target: target.name, state: 'announcing' };
      if (o.say && call.agent && !call.agent.ended) await call.agent.say(o.say);
      call.transfer = { target: target.name, state: 'referring' };
      const refer = await sendRefer(dialog, {
        target: target.uri, notifyTimeoutMs: this.#config.notifyTimeoutMs, answerTimeoutMs: this.#config.answerTimeoutMs,
        onProgress: (s) => log.debug({ status: s.status }, 'transfer progress'),
      });
      if (refer.ok) {
        log.info({ status: refer.status }, 'transferred by REFER: the agent leaves the call');
        call.transfer = { target: target.name, state: 'transferred' };
        call.releaseAgent();
        call.end('transferred');
        return { ok: true, via: 'refer', target: target.name };
      }
      log.info({ why: refer.why, status: refer.status, detail: refer.detail }, 'REFER did not transfer the call');
      const fallback = refer.why === 'dialog-ended' ? 'not tried: the call ended' : await this.#bridge(call, target, log);
      if (fallback === 'bridged') return { ok: true, via: 'bridge', target: target.name };
      return this.#failed(call, target, refer, fallback, log);
    } finally {
      this.#running.delete(call.id);
    }
  }

  /** The fallback: dial the target, and once it answers, bridge it to the caller. Returns 'bridged' or why not. */
  async #bridge(call: TransferableCall, target: TransferTargetConfig, log: Logger): Promise<string> {
    if (!this.#config.fallback) return 'off (transfer.fallback: false)';
    if (!this.#dialer) return 'unavailable (no outbound dialer in this gateway)';
    const caller = call.media;
    if (!caller) return 'unavailable (the call has no media to bridge)';
    const abort = new AbortController();
    call.once('ended', () => abort.abort(new CallEndedError({ callId: call.id })));
    let leg: DialedLeg;
    call.transfer = { target: target.name, state: 'dialing' };
    try {
      const codecs: G711[] = caller.codec === 'PCMA' ? ['PCMA', 'PCMU'] : ['PCMU', 'PCMA'];
      leg = await this.#dialer.dial(target.uri, { from: call.caller, codecs, timeoutMs: this.#config.answerTimeoutMs, signal: abort.signal });
    } catch (err) {
      return `failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (call.state !== 'active') {
      await leg.hangup().catch(() => undefined);
      return 'not used: the call ended while the target answered';
    }
    call.transfer = { target: target.name, state: 'bridged' };
    call.releaseAgent();
    const bridge = new RtpBridge(caller, { media: leg.media, codec: leg.codec });
    log.info({ codecs: `${caller.codec}/${leg.codec}`, transcoding: bridge.stats.transcoding }, 'transferred by bridging: the agent leaves the call');
    let over = false;
    const finish = (why: string) => {
      if (over) return;
      over = true;
      bridge.stop();
      log.info({ why, frames: bridge.stats.frames }, 'bridged transfer over');
      call.end('transferred');
      leg.hangup().catch(() => undefined);
    };
    call.once('ended', () => finish('the caller hung up'));
    bridge.once('ended', (why) => finish(`media: ${why}`));
    leg.ended.then((why) => finish(`the target hung up (${why})`), () => finish('the target leg failed'));
    return 'bridged';
  }

  #failed(call: TransferableCall, target: TransferTargetConfig, refer: Extract<ReferOutcome, { ok: false }>, fallback: string, log: Logger): TransferOutcome {
    const failure = new TransferFailedError({ callId: call.id, target: target.name, refer: `${refer.why}: ${refer.detail}`, fallback });
    log.warn({ err: failure }, 'transfer failed: the call stays with the agent');
    call.transfer = { target: target.name, state: 'failed', detail: failure.message };
    if (call.state === 'active' && call.agent && !call.agent.ended) {
      call.agent.inform(`The transfer to ${target.name} failed (${refer.detail}); the caller is still with you.`);
      call.agent.say(SORRY).catch(() => undefined);
    }
    return { ok: false, code: 'transfer-failed', target: target.name, refer: `${refer.why}: ${refer.detail}`, fallback };
  }
}
