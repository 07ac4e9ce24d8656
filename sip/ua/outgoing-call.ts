import { EventEmitter } from 'node:events';
import { SipTimeoutError } from '../errors.js';
import { newCallId, newTag, type SipRequest, type SipResponse } from '../message/index.js';
import { DigestClient, type DigestCredentials } from '../digest/index.js';
import type { InviteClientTransaction } from '../transaction/invite-client-transaction.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import type { Destination, Transport } from '../transport/transport.js';
import type { DialogUser } from './user-agent.js';
import { buildCancel, buildInDialog, buildInvite, dialogFrom, nextHop, type UacDialogState, type UacIdentity } from './uac-requests.js';
import { answerInDialog } from './uac-in-dialog.js';
import { watchSilence, type SilenceWatch } from './silent-destination.js';

/** What an outgoing call needs of the user agent that sends it (sip/ua's UserAgent fits). */
export interface UacOwner {
  contactFor(transport: Transport): string;
  transportFor(to: Destination): Transport;
  sendInvite(req: SipRequest, to: Destination, transport: Transport): InviteClientTransaction;
  sendAck(ack: SipRequest, to: Destination, transport: Transport): void;
  sendRequest(req: SipRequest, to: Destination, transport: Transport): Promise<SipResponse>;
  sendCancel(cancel: SipRequest, to: Destination, transport: Transport): Promise<SipResponse>;
  addDialog(callId: string, localTag: string, d: DialogUser): void;
  removeDialog(callId: string, localTag: string, d: DialogUser): void;
}

/**
 * The hook for reliable provisional responses (RFC 3262; prack-sender.ts's `reliableProvisionals()`):
 * with a hook, the INVITE says `Supported: 100rel` and every 18x that says `Require: 100rel` is
 * handed to `acknowledge` (which sends the PRACK, its CSeq from `nextCSeq`, the call's own counter,
 * so a later BYE is numbered above it). Without one we do not offer 100rel, so a compliant peer
 * never sends us a reliable 18x.
 */
export interface ReliableProvisionalHook {
  acknowledge(res: SipResponse, invite: SipRequest, send: (prack: SipRequest) => Promise<SipResponse>, nextCSeq: () => number): void;
}

export interface OutgoingCallOptions {
  /** Request-URI and To: `sip:+15551234567@trunk.example.com`. */
  target: string;
  /** Our address of record (From). */
  from: string;
  fromName?: string;
  /** Our SDP offer (SdpNegotiator.offer()). */
  sdp: string;
  /** Where the INVITE goes: the trunk's proxy, resolved (RFC 3263) by the caller. */
  destination: Destination;
  /** Preloaded Route (loose routing), e.g. the trunk's outbound proxy. */
  route?: readonly string[];
  credentials?: DigestCredentials;
  /** Extra headers (X-… from the API). */
  headers?: Readonly<Record<string, string>>;
  /** CANCEL once this long has passed without an answer. */
  ringTimeoutMs: number;
  /**
   * No response at all (not even 100 Trying) this long: the destination is given up and the call
   * ends as `transport`, so that the caller can try its next RFC 3263 target (silent-destination.ts).
   * A late provisional then gets our CANCEL, a late 2xx our ACK and BYE. Absent: only Timer B gives up.
   */
  noResponseTimeoutMs?: number;
  reliableProvisional?: ReliableProvisionalHook;
}

export type OutgoingState = 'calling' | 'ringing' | 'early' | 'answered' | 'ended';

/**
 * How an outgoing call ended. `failed` carries the final status; `no-answer` is our ringing
 * timeout (CANCEL) or Timer B after a provisional; `transport` is no response at all or a
 * transport error; `cancelled` is our own hang-up before the answer.
 */
export type OutgoingEndReason = 'failed' | 'auth-failed' | 'no-answer' | 'cancelled' | 'transport' | 'bye' | 'hangup' | 'shutdown';
export interface OutgoingEnd { reason: OutgoingEndReason; status?: number; phrase?: string; detail?: string }

export interface OutgoingCallEvents {
  /** 180/181/182/183; `sdp` is the early answer of a 183 (or 180) that carried one. */
  progress: [status: number, sdp: string | undefined];
  /** 2xx, ACKed; `sdp` is the answer (the early one of the same dialog when the 2xx has none). */
  answered: [sdp: string | undefined];
  dtmf: [digit: string, durationMs: number];
  reinvite: [offer: string | undefined, answer: (sdp: string) => void];
  ended: [end: OutgoingEnd];
}

/**
 * A call we place (UAC side of an INVITE dialog, RFC 3261 §12–13): INVITE with our offer, digest
 * answers to 401/407, provisional responses with early media, CANCEL on our ringing timeout or
 * hang-up. The first 2xx makes the dialog; every 2xx is ACKed, and a 2xx from another fork, or
 * one that arrives after our CANCEL (the 487/200 race), is ACKed and then ended with BYE
 * (§13.2.2.4). Once answered the UA routes in-dialog requests here (BYE, INFO, re-INVITE).
 */
export class OutgoingCall extends EventEmitter<OutgoingCallEvents> implements DialogUser {
  readonly callId: string;
  readonly localTag = newTag();
  readonly #o: OutgoingCallOptions;
  readonly #owner: UacOwner;
  readonly #transport: Transport;
  readonly #id: UacIdentity;
  readonly #digest: DigestClient | undefined;
  #state: OutgoingState = 'calling';
  #end: OutgoingEnd | undefined;
  #cseq = 1;
  #invite!: SipRequest;
  #tx: InviteClientTransaction | undefined;
  #provisional = false;
  /** Why we CANCEL (set once decided; sent once a provisional response allows it, §9.1). */
  #cancelling: 'no-answer' | 'cancelled' | 'shutdown' | undefined;
  #cancelSent = false;
  #ringTimer: NodeJS.Timeout | undefined;
  #silence: SilenceWatch | undefined;
  #dialog: UacDialogState | undefined;
  #ack: SipRequest | undefined;
  #remoteCSeq = 0;
  /** Early answers by remote tag: a 2xx without SDP takes its own dialog's (RFC 3264 with 100rel). */
  readonly #early = new Map<string, string>();
  #localSdp: string;
  /** The status of the last final response (the 487 after CANCEL, or a failure), kept for the API. */
  lastStatus: number | undefined;

  constructor(owner: UacOwner, o: OutgoingCallOptions) {
    super();
    this.#owner = owner;
    this.#o = o;
    this.#transport = owner.transportFor(o.destination);
    this.callId = newCallId(this.#transport.local.address);
    this.#localSdp = o.sdp;
    this.#id = {
      callId: this.callId, target: o.target, from: o.from, ...(o.fromName && { fromName: o.fromName }), localTag: this.localTag,
      contact: owner.contactFor(this.#transport), protocol: this.#transport.protocol, route: o.route ?? [],
    };
    this.#digest = o.credentials && new DigestClient(o.credentials);
  }

  get state(): OutgoingState { return this.#state; }
  get ended(): OutgoingEnd | undefined { return this.#end; }
  get invite(): SipRequest { return this.#invite; }
  /** Where the INVITE went (the trunk's proxy as resolved) and the transport it went over. */
  get destination(): Destination { return this.#o.destination; }
  get transport(): Transport { return this.#transport; }
  /** The remote party's tag once answered. */
  get remoteTag(): string | undefined { return this.#dialog?.remoteTag; }

  /** Sends the INVITE; the outcome arrives as events ('progress', 'answered', 'ended'). */
  start(): void {
    this.#ringTimer = setTimeout(() => this.#cancel('no-answer'), this.#o.ringTimeoutMs);
    if (this.#o.noResponseTimeoutMs !== undefined) this.#silence = watchSilence(this.#o.noResponseTimeoutMs, () => this.#tx, (detail) => this.#giveUp(detail));
    this.#send(undefined);
  }

  #send(auth: { header: string; value: string } | undefined): void {
    const extra: Record<string, string> = { ...this.#o.headers };
    if (this.#o.reliableProvisional) extra.supported = '100rel';
    if (auth) extra[auth.header.toLowerCase()] = auth.value;
    this.#invite = buildInvite(this.#id, this.#cseq, this.#o.sdp, extra);
    const tx = this.#owner.sendInvite(this.#invite, this.#o.destination, this.#transport);
    this.#tx = tx;
    tx.onProvisional = (res) => { this.#silence?.heard(); this.#onProvisional(res); };
    tx.on2xxRetransmission = (res) => this.#on2xx(res);
    tx.response.then((res) => { this.#silence?.heard(); this.#onFinal(res, tx); }, (err: unknown) => this.#onError(err, tx));
  }

  #onProvisional(res: SipResponse): void {
    if (this.#state === 'answered') return;
    // Cancelled, given up or shut down before any provisional: the CANCEL waited for this one (§9.1).
    if (this.#cancelling) { this.#provisional = true; this.#sendCancel(); return; }
    if (this.#state === 'ended') return;
    this.#provisional = true;
    if (res.status === 100) return;
    if (this.#o.reliableProvisional && /(^|,)\s*100rel\s*(,|$)/i.test(res.header('require') ?? '')) {
      this.#o.reliableProvisional.acknowledge(res, this.#invite, (prack) => this.#owner.sendRequest(prack, this.#o.destination, this.#transport), () => ++this.#cseq);
    }
    const sdp = sdpOf(res);
    const tag = res.to.tag;
    if (sdp && tag && !this.#early.has(tag)) this.#early.set(tag, sdp);
    // Forks may each send 18x: the first early answer is the one we play; later ones only ring.
    const first = sdp !== undefined && this.#state !== 'early';
    if (first) this.#state = 'early';
    else if (this.#state === 'calling') this.#state = 'ringing';
    this.emit('progress', res.status, first ? sdp : undefined);
  }

  #onFinal(res: SipResponse, tx: InviteClientTransaction): void {
    if (tx !== this.#tx) return;
    if (res.status < 300) { this.#on2xx(res); return; }
    this.lastStatus = res.status;
    if (this.#state === 'ended') return;
    if ((res.status === 401 || res.status === 407) && !this.#cancelling) { this.#challenged(res); return; }
    const phrase = res.reason;
    if (this.#cancelling) { this.#finish({ reason: this.#cancelling, status: res.status, phrase }); return; }
    this.#finish({ reason: 'failed', status: res.status, phrase });
  }

  #challenged(res: SipResponse): void {
    const status = res.status as 401 | 407;
    const challenge = res.header(status === 401 ? 'www-authenticate' : 'proxy-authenticate');
    if (!this.#digest || !challenge) {
      this.#finish({ reason: 'auth-failed', status, phrase: res.reason, detail: this.#digest ? 'challenge without a Digest header' : 'the trunk asks for credentials and has none configured' });
      return;
    }
    let outcome;
    try {
      outcome = this.#digest.answer(status, challenge, 'INVITE', this.#o.target);
    } catch (err) {
      this.#finish({ reason: 'auth-failed', status, phrase: res.reason, detail: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (outcome.kind === 'rejected') {
      this.#finish({ reason: 'auth-failed', status, phrase: res.reason, detail: outcome.reason });
      return;
    }
    // §22.2: the retry is a new transaction with CSeq + 1, same Call-ID and From tag.
    this.#cseq++;
    this.#provisional = false;
    this.#send({ header: outcome.header, value: outcome.value });
  }

  #onError(err: unknown, tx: InviteClientTransaction): void {
    if (tx !== this.#tx || this.#state === 'ended' || this.#state === 'answered') return;
    const detail = err instanceof Error ? err.message : String(err);
    if (this.#cancelling) { this.#finish({ reason: this.#cancelling, detail }); return; }
    // Timer B after a provisional: the callee rang and never answered. Before any: nobody there.
    if (err instanceof SipTimeoutError && this.#provisional) { this.#finish({ reason: 'no-answer', status: 408, detail }); return; }
    this.#finish({ reason: 'transport', detail });
  }

  /** Every 2xx: the first makes the dialog; a retransmission gets the ACK again; another fork's is ACKed and ended. */
  #on2xx(res: SipResponse): void {
    this.lastStatus ??= res.status;
    const d = dialogFrom(this.#invite, res);
    const hop = nextHop(d, this.#o.destination);
    const ack = () => {
      const a = buildInDialog('ACK', this.#id, d, res.cseq.seq, String(this.#invite.from));
      this.#owner.sendAck(a, hop, this.#transport);
      return a;
    };
    if (this.#dialog) {
      if (d.remoteTag === this.#dialog.remoteTag) { if (this.#ack) this.#owner.sendAck(this.#ack, hop, this.#transport); return; }
      ack();
      this.#byeInBackground(d, hop);
      return;
    }
    this.#dialog = d;
    this.#ack = ack();
    this.lastStatus = res.status;
    if (this.#state === 'ended' || this.#cancelling) {
      // The 487/200 race: the callee answered as our CANCEL crossed it. The dialog exists: end it.
      this.#byeInBackground(d, hop);
      if (this.#state !== 'ended') this.#finish({ reason: this.#cancelling!, status: res.status, detail: 'answered as we cancelled: ACKed and ended with BYE' });
      return;
    }
    clearTimeout(this.#ringTimer);
    this.#state = 'answered';
    this.#remoteCSeq = 0;
    this.#owner.addDialog(this.callId, this.localTag, this);
    this.emit('answered', sdpOf(res) ?? this.#early.get(d.remoteTag));
  }

  /** Our side ends the call: CANCEL before the answer, BYE after. Resolves once the call has ended. */
  async hangup(): Promise<void> {
    if (this.#state === 'ended') return;
    if (this.#state !== 'answered') {
      this.#cancel('cancelled');
      await new Promise<void>((resolve) => { if (this.#state === 'ended') resolve(); else this.once('ended', () => resolve()); });
      return;
    }
    const d = this.#dialog!;
    const bye = this.#bye(d, nextHop(d, this.#o.destination));
    this.#finish({ reason: 'hangup' });
    await bye.catch(() => undefined);
  }

  #cancel(why: 'no-answer' | 'cancelled' | 'shutdown'): void {
    if (this.#state === 'ended' || this.#state === 'answered' || this.#cancelling) return;
    this.#cancelling = why;
    clearTimeout(this.#ringTimer);
    // §9.1: no CANCEL before a provisional response; it goes when one arrives (or Timer B ends it all).
    if (this.#provisional) this.#sendCancel();
  }

  /**
   * A silent destination given up: ended now, and the INVITE's transaction cancels or ends what
   * answers late. A call already being cancelled (our hang-up, the ring timeout) ends as that, so
   * the caller does not take it for a target to fail over from.
   */
  #giveUp(detail: string): void {
    if (this.#state !== 'calling' || this.#provisional) return;
    const why = this.#cancelling;
    this.#cancelling ??= 'cancelled';
    clearTimeout(this.#ringTimer);
    this.#finish({ reason: why ?? 'transport', detail });
  }

  #sendCancel(): void {
    if (this.#cancelSent) return;
    this.#cancelSent = true;
    this.#owner.sendCancel(buildCancel(this.#invite), this.#o.destination, this.#transport).catch(() => undefined);
    // A peer that answers the CANCEL but never the INVITE: Timer B (64·T1) still ends the transaction.
  }

  #bye(d: UacDialogState, hop: Destination): Promise<SipResponse> {
    return this.#owner.sendRequest(buildInDialog('BYE', this.#id, d, ++this.#cseq, String(this.#invite.from)), hop, this.#transport);
  }

  /** A BYE nobody waits for: its failure (a vanished peer, Timer F) is owned here. */
  #byeInBackground(d: UacDialogState, hop: Destination): void {
    this.#bye(d, hop).catch(() => undefined);
  }

  /** @internal in-dialog requests from the callee (the UA routes them here once answered). */
  receiveInDialog(req: SipRequest, tx: ServerTransaction | undefined): void {
    if (req.method === 'ACK' || !tx || this.#state !== 'answered') return;
    answerInDialog(req, tx, {
      remoteCSeq: this.#remoteCSeq,
      setRemoteCSeq: (n) => { this.#remoteCSeq = n; },
      contact: this.#id.contact,
      localSdp: () => this.#localSdp,
      setLocalSdp: (sdp) => { this.#localSdp = sdp; },
      bye: () => this.#finish({ reason: 'bye' }),
      dtmf: (digit, ms) => this.emit('dtmf', digit, ms),
      reinvite: this.listenerCount('reinvite') > 0 ? (offer, answer) => this.emit('reinvite', offer, answer) : undefined,
    });
  }

  /** @internal the user agent ends every call on shutdown. */
  shutdown(): void {
    if (this.#state === 'answered') {
      const d = this.#dialog!;
      this.#byeInBackground(d, nextHop(d, this.#o.destination));
      this.#finish({ reason: 'shutdown' });
    } else {
      this.#cancel('shutdown');
      this.#finish({ reason: 'shutdown' });
    }
  }

  #finish(end: OutgoingEnd): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.#end = end;
    clearTimeout(this.#ringTimer);
    this.#silence?.heard();
    this.#owner.removeDialog(this.callId, this.localTag, this);
    this.emit('ended', end);
  }
}

function sdpOf(res: SipResponse): string | undefined {
  return res.body.length && /application\/sdp/i.test(res.contentType ?? '') ? res.body.toString('utf8') : undefined;
}
