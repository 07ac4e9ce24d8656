import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { IncomingCall, type ReferDialog } from '../../sip/index.js';
import {
  SdpNegotiator, alawToUlaw, isMediaError, isWebRtcOffer, parseSdp,
  RtpSession, type BridgeLeg, type CallMedia, type DtmfDigit, type Negotiated, type Pacer, type PortAllocator, type WebRtcEndpoint,
} from '../../media/index.js';
import type { MediaConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { AgentSession, type AgentUpstreams } from '../agent/index.js';
import { negotiatedFromAnswer } from './answer-in-ack.js';
import { CallLeases } from './call-leases.js';
import { contextMessage, type CallContext } from './call-context.js';
import type { CallLeg } from './call-leg.js';
import { Playout } from './playout.js';
import type { Route } from './route.js';
import { openRtpLeg } from './rtp-leg.js';
import { fullIceFor, openWebRtcLeg } from './webrtc-leg.js';
import type { TransferableCall, Transfers, TransferStatus } from './transfer.js';
import { answerCarrierOffer, isRefusal, offerForDelayedOffer } from './carrier-setup.js';
import type { CallEndReason, CallEvents, CallSnapshot, CallState, SetupRefusal } from './call-types.js';

export type { CallEndReason, CallEvents, CallSnapshot, CallState, SetupRefusal } from './call-types.js';

export interface CallDeps {
  media: MediaConfig;
  ports: PortAllocator;
  pacer: Pacer;
  /** Where this agent profile's leases come from (the warm pools); the call keeps the ledger of what it took. */
  upstreams(route: Route): AgentUpstreams;
  log: Logger;
  /** Browsers' DTLS-SRTP media; absent: WebRTC offers get 488. */
  webrtc?: WebRtcEndpoint;
  /** Transfer to a person (the transfer_call tool); absent: the tool answers that it is unavailable. */
  transfers?: Transfers;
}

/**
 * One phone call. It owns its SIP dialog, its RTP session (and port), its
 * place in the shared pacer, its agent, and every upstream lease taken for it
 * (CallLeases: the agent acquires through the call's ledger). `end()` is the
 * one close cascade — agent, ledger, pacer, RTP, port, dialog — whichever way
 * the call ends (BYE, CANCEL, ACK timeout, RTP timeout, shutdown, a failed
 * agent), and is idempotent, so racing endings (a BYE arriving while the RTP
 * timeout fires) release once.
 */
export class Call extends EventEmitter<CallEvents> implements TransferableCall {
  readonly id = randomUUID();
  readonly startedAt = Date.now();
  readonly did: string;
  readonly caller: string;
  #state: CallState = 'setup';
  #endReason: CallEndReason | undefined;
  readonly #sip: CallLeg;
  readonly #route: Route;
  readonly #deps: CallDeps;
  readonly #log: Logger;
  #rtp: CallMedia | undefined;
  #playout: Playout | undefined;
  #agent: AgentSession | undefined;
  #negotiator: SdpNegotiator | undefined;
  #negotiated: Negotiated | undefined;
  #answerSdp = '';
  #port: number | undefined;
  /** A port taken for our delayed offer that no RTP session owns yet: end() gives it back. */
  #unboundPort: number | undefined;
  readonly #context: CallContext;
  #bye: Promise<void> = Promise.resolve();
  readonly #leases: CallLeases;
  transfer: TransferStatus | undefined;

  constructor(sip: CallLeg, route: Route, identity: { did: string; caller: string; context: CallContext }, deps: CallDeps) {
    super();
    this.#sip = sip;
    this.#route = route;
    this.#deps = deps;
    this.did = identity.did;
    this.caller = identity.caller;
    this.#context = identity.context;
    this.#log = deps.log.child({ call: this.id, callId: sip.callId, did: this.did, agent: route.agent });
    this.#leases = new CallLeases(deps.upstreams(route));
    // The dialog can end at any moment from here on (CANCEL during setup included).
    // 'rejected' only ever follows our own refusal in start().
    sip.on('ended', (reason) => this.end(reason === 'rejected' ? 'setup-failed' : reason));
  }

  get state(): CallState {
    return this.#state;
  }

  get rtp(): CallMedia | undefined {
    return this.#rtp;
  }

  /**
   * Negotiates media, opens RTP, leases the agent's ASR socket and answers.
   * Resolves once answered (not once ACKed); a failure before the answer
   * rejects the INVITE with a status that says why, and releases what was taken.
   */
  async start(): Promise<void> {
    // A caller that takes reliable provisionals (RFC 3262) hears Ringing while we set up, its PRACK
    // running meanwhile. A delayed offer's first reliable response would have to carry our offer
    // (§5): that one gets its offer in the 200 and no 18x, as every call did before.
    if (this.#sip.reliableProvisionals && this.#sip.offer !== undefined) this.#sip.progress(180);
    const refusal = await (this.#sip.offer === undefined ? this.#setupDelayed() : this.#setup()).catch((err: unknown): SetupRefusal => {
      this.#log.error({ err }, 'call setup failed');
      return { status: 500, reason: 'Server Internal Error' };
    });
    if (refusal) {
      this.#log.warn({ status: refusal.status, why: refusal.warning ?? refusal.reason }, 'call refused');
      this.#sip.reject(refusal.status, refusal.reason);
      this.end('setup-failed');
      return;
    }
    if (this.#state === 'ended') return; // CANCELled while we were setting up.
    const sdp = this.#answerSdp;
    this.#state = 'active';
    if (this.#sip.offer === undefined) {
      // Media waits for the answer in the ACK; an ACK that never comes ends the dialog, and 'ended' ends us.
      this.#sip.answer(sdp).then((answer) => this.#answered(answer), () => undefined);
      this.#log.info({ localPort: this.#port }, 'call answered with our offer (delayed offer): media waits for the answer in the ACK');
      return;
    }
    this.#deps.pacer.add(this.#playout!.stream);
    this.#sip.answer(sdp).then(
      () => this.#log.debug('call confirmed'),
      () => undefined, // an ACK that never comes ends the dialog, and 'ended' ends us.
    );
    this.#log.info({ codec: this.#negotiated!.codec.encoding, srtp: this.#negotiated!.srtp?.suite ?? null, remote: `${this.#negotiated!.remoteAddress}:${this.#negotiated!.remotePort}` }, 'call answered');
  }

  /** An INVITE without SDP (RFC 3264 §5): our offer goes in the 200, on a port taken now. */
  async #setupDelayed(): Promise<SetupRefusal | undefined> {
    const leg = offerForDelayedOffer(this.#deps, this.#sip.source.address);
    if (isRefusal(leg)) return leg;
    [this.#unboundPort, this.#port, this.#negotiator, this.#answerSdp] = [leg.port, leg.port, leg.negotiator, leg.offerSdp];
    return undefined;
  }

  /**
   * The ACK of our delayed-offer 200 came: its SDP is the answer. Media and
   * the agent start now; an answer we cannot use (none, unparsable, no codec
   * we offered) leaves only BYE (there is no 488 after a 200).
   */
  async #answered(answerText: string | undefined): Promise<void> {
    if (this.#over) return;
    try {
      const n = negotiatedFromAnswer(this.#sip.callId, answerText, this.#deps.media.codecs, /RTP\/SAVP/.test(this.#answerSdp) ? this.#negotiator : undefined);
      const port = this.#unboundPort!;
      this.#unboundPort = undefined;
      const rtp = await openRtpLeg(this.#deps, port, n, `warmline-${this.id.slice(0, 8)}`);
      this.#rtp = rtp;
      this.#negotiated = n;
      if (this.#over) {
        rtp.close();
        return;
      }
      this.#attachMedia(rtp, n);
      const refusal = await this.#startAgent(n);
      if (refusal) throw new Error(refusal.warning ?? refusal.reason);
      if (this.#over) return;
      this.#deps.pacer.add(this.#playout!.stream);
      this.#log.info({ codec: n.codec.encoding, remote: `${n.remoteAddress}:${n.remotePort}` }, 'call confirmed with the answer in the ACK');
    } catch (err) {
      const bad = (err as { code?: unknown }).code === 'WL_ERR_SDP_ANSWER';
      this.#log.warn({ err }, bad ? 'no usable answer in the ACK to our offer: hanging up' : 'call setup after the ACK failed: hanging up');
      this.end(bad ? 'bad-answer' : 'setup-failed');
    }
  }

  /** Read where an await may have let the call end (TypeScript would keep an earlier check's narrowing). */
  get #over(): boolean {
    return this.#state === 'ended';
  }

  /**
   * An outbound call, answered: dial.ts negotiated its media (our offer, the callee's answer) and
   * opened its RTP; from here the agent starts as for an inbound call, from the same warm pools.
   */
  async startAnswered(m: { rtp: CallMedia; port: number; negotiator: SdpNegotiator; negotiated: Negotiated; sdp: string }): Promise<void> {
    [this.#rtp, this.#port, this.#negotiator, this.#negotiated, this.#answerSdp] = [m.rtp, m.port, m.negotiator, m.negotiated, m.sdp];
    if (this.#state === 'ended') {
      m.rtp.close();
      return;
    }
    this.#attachMedia(m.rtp, m.negotiated);
    const refusal = await this.#startAgent(m.negotiated);
    if (refusal) {
      this.#log.warn({ why: refusal.warning ?? refusal.reason }, 'outbound call: the agent could not start');
      return this.end('setup-failed');
    }
    if (this.state === 'ended') return;
    this.#state = 'active';
    this.#deps.pacer.add(this.#playout!.stream);
  }

  async #setup(): Promise<SetupRefusal | undefined> {
    const offerText = this.#sip.offer!;
    let offer;
    try {
      offer = parseSdp(offerText);
    } catch (err) {
      if (isMediaError(err)) return { status: 488, reason: 'Not Acceptable Here', warning: err.message };
      throw err;
    }
    if (isWebRtcOffer(offer)) return this.#setupWebRtc(offerText, offer);
    const leg = await answerCarrierOffer(this.#deps, offer, this.#sip.source.address, `warmline-${this.id.slice(0, 8)}`);
    if (isRefusal(leg)) return leg;
    [this.#rtp, this.#port, this.#negotiator, this.#negotiated, this.#answerSdp] = [leg.rtp, leg.port, leg.negotiator, leg.negotiated, leg.answerSdp];
    if (this.#state === 'ended') {
      leg.rtp.close();
      return undefined;
    }
    this.#attachMedia(leg.rtp, leg.negotiated);
    return await this.#startAgent(leg.negotiated);
  }

  async #setupWebRtc(offerText: string, offer: ReturnType<typeof parseSdp>): Promise<SetupRefusal | undefined> {
    const fullIce = fullIceFor(this.#deps.media.webrtcFullIce, this.#sip.invite?.header('user-agent'));
    const leg = await openWebRtcLeg(this.#deps.webrtc, this.#deps.ports, offerText, offer, this.#log, fullIce);
    if ('status' in leg) return leg;
    this.#rtp = leg.media;
    this.#port = leg.media.port;
    this.#negotiated = leg.negotiated;
    this.#answerSdp = leg.sdp;
    if (this.#state === 'ended') {
      leg.media.close();
      return undefined;
    }
    this.#attachMedia(leg.media, leg.negotiated);
    return await this.#startAgent(leg.negotiated);
  }

  #attachMedia(rtp: CallMedia, n: Negotiated): void {
    const alaw = n.codec.encoding.toUpperCase() === 'PCMA';
    const playout = new Playout(rtp, alaw, () => this.#agent?.audioPlayed());
    this.#playout = playout;
    playout.sending = n.direction === 'sendrecv' || n.direction === 'sendonly';
    // ASR takes µ-law 8 kHz: PCMU goes as it came; PCMA is one table lookup per byte, in place
    // (the payload is a view on this packet's own datagram): no allocation per packet.
    // A lost frame becomes 20 ms of silence so the recognizer's clock keeps step with the call's.
    const silence = Buffer.alloc(160, 0xff);
    rtp.on('audio', (payload: Buffer | null) => {
      // PCMA is converted in place below: once the agent has left, a bridge reads the payload as it came.
      if (!this.#agent || this.#agent.ended) return;
      if (payload === null) this.#agent.pushCallerAudio(silence);
      else this.#agent.pushCallerAudio(alaw ? alawToUlaw(payload, payload) : payload);
    });
    rtp.on('dtmf', (d: DtmfDigit) => {
      if (d.end) this.#dtmf(d.digit, 'rfc4733');
    });
    rtp.on('timeout', () => {
      this.#log.warn({ timeoutMs: this.#deps.media.rtpTimeoutMs }, 'no RTP from the caller: hanging up');
      void this.end('rtp-timeout');
    });
    this.#sip.on('dtmf', (digit) => this.#dtmf(digit, 'info'));
    this.#sip.on('reinvite', (offer, answer) => this.#reinvite(offer, answer));
  }

  async #startAgent(n: Negotiated): Promise<SetupRefusal | undefined> {
    const playout = this.#playout!;
    const agent = new AgentSession({
      callId: this.#sip.callId,
      callerNumber: this.caller,
      profile: this.#route.profile,
      ...(contextMessage(this.#context) !== undefined && { context: contextMessage(this.#context)! }),
      upstreams: this.#leases.upstreams,
      log: this.#log,
      playAudio: (ulaw) => playout.enqueue(ulaw),
      flushAudio: () => playout.flush(),
      playbackDone: () => playout.drained(),
      transfer: (target) => this.#deps.transfers?.fromTool(this, target) ?? JSON.stringify({ error: 'transfers are not configured' }),
    });
    this.#agent = agent;
    agent.on('turn', (t) => this.emit('turn', t));
    agent.once('failed', (err) => {
      this.#log.error({ err }, 'the agent failed: ending the call');
      this.end('agent-failed');
    });
    try {
      await agent.start();
    } catch (err) {
      // No ASR socket within the pool's bounded wait: another replica may have one.
      this.#log.error({ err, codec: n.codec.encoding }, 'no ASR stream for the call');
      return { status: 503, reason: 'Service Unavailable', warning: err instanceof Error ? err.message : String(err) };
    }
    return undefined;
  }

  #dtmf(digit: string, via: 'rfc4733' | 'info'): void {
    this.#log.debug({ digit, via }, 'dtmf');
    this.#agent?.dtmf(digit);
  }

  /** Hold, unhold and session refreshes: same port, same codec, direction mirrored. */
  #reinvite(offer: string | undefined, answer: (sdp: string) => void): void {
    if (!this.#negotiator && this.#answerSdp) {
      // A browser leg: its ICE/DTLS session stays as it is; the answer we gave still holds.
      answer(this.#answerSdp);
      return;
    }
    if (!this.#negotiator || !offer) {
      // An offerless re-INVITE asks for our current offer (RFC 3261 §14.2).
      if (this.#negotiator) answer(this.#negotiator.offer());
      return;
    }
    try {
      const { sdp, negotiated } = this.#negotiator.answer(parseSdp(offer));
      if (this.#playout) this.#playout.sending = negotiated.direction === 'sendrecv' || negotiated.direction === 'sendonly';
      this.#negotiated = negotiated;
      if (negotiated.srtp && this.#rtp instanceof RtpSession) this.#rtp.rekey({ local: negotiated.srtp.local, remote: negotiated.srtp.remote });
      answer(sdp);
    } catch (err) {
      // Keep the call on its current media; the peer's new offer is refused by answering the old one.
      this.#log.warn({ err }, 're-INVITE offer not acceptable; keeping the current media');
      answer(this.#negotiator.offer());
    }
  }

  /**
   * Ends the call and releases everything it holds. Our own endings (RTP
   * timeout, shutdown) hang up the dialog; the peer's arrive already ended.
   */
  end(reason: CallEndReason): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.#endReason = reason;
    this.#agent?.end(reason === 'bye' || reason === 'cancel' ? 'hangup' : reason);
    // The agent returns what it holds; the ledger returns what it did not (a failed agent, a turn mid-acquire).
    const stray = this.#leases.close();
    if (stray) this.#log.warn({ leases: stray }, 'returned leases the agent still held');
    if (this.#playout) this.#deps.pacer.remove(this.#playout.stream);
    this.#rtp?.close();
    if (this.#unboundPort !== undefined) this.#deps.ports.release(this.#unboundPort);
    this.#unboundPort = undefined;
    // The BYE's transaction may take up to 64·T1 against a dead peer: the call's
    // resources must not wait for it.
    if (this.#sip.state !== 'ended') this.#bye = this.#sip.hangup().catch(() => undefined);
    this.#log.info({ reason, durationMs: Date.now() - this.startedAt, turns: this.#agent?.records.length ?? 0 }, 'call ended');
    this.emit('ended', reason);
  }

  get agentName(): string { return this.#route.agent; }
  /** The dialog a REFER can go in: an inbound call's (a call we placed does not take REFER yet). */
  get dialog(): (ReferDialog & { readonly state: string }) | undefined { return this.#sip instanceof IncomingCall ? this.#sip : undefined; }
  get agent(): AgentSession | undefined { return this.#agent; }
  /** The caller's media and its G.711 law, for a transfer's bridge (a browser's leg too). */
  get media(): BridgeLeg | undefined {
    const codec = this.#negotiated?.codec.encoding.toUpperCase();
    return this.#rtp && (codec === 'PCMU' || codec === 'PCMA') ? { media: this.#rtp, codec } : undefined;
  }

  /** A transfer took the call: the agent leaves now (its leases go back, its audio stops); the dialog and RTP stay. */
  releaseAgent(): void {
    this.#agent?.end('transferred');
    this.#leases.close();
    if (this.#playout) this.#deps.pacer.remove(this.#playout.stream);
  }

  /** Upstream leases this call holds now (0 once it has ended). */
  get leasesHeld(): number {
    return this.#leases.held;
  }

  /** Settles when our BYE (if we sent one) got its answer or timed out. */
  get byeSettled(): Promise<void> {
    return this.#bye;
  }

  snapshot(): CallSnapshot {
    const s = this.#rtp?.stats;
    return {
      id: this.id,
      callId: this.#sip.callId,
      did: this.did,
      caller: this.caller,
      agent: this.#route.agent,
      ...(this.#route.tenant !== undefined && { tenant: this.#route.tenant }),
      ...(this.#route.region && { region: this.#route.region, ...(this.#route.failedOverFrom && { failedOverFrom: this.#route.failedOverFrom }) }),
      state: this.#state,
      startedAt: new Date(this.startedAt).toISOString(),
      durationMs: Date.now() - this.startedAt,
      codec: this.#negotiated?.codec.encoding,
      localPort: this.#port,
      remote: this.#rtp?.remoteAddress,
      rtp: s && { received: s.received, sent: s.sent, lost: s.lost, dropped: { ...s.dropped } },
      turns: this.#agent ? [...this.#agent.records] : [],
      transcript: this.#agent?.transcript ?? [],
      media: this.#negotiator || !this.#answerSdp ? 'rtp' : 'webrtc',
      sipTransport: this.#sip.transport.protocol,
      delayedOffer: this.#sip.offer === undefined,
      context: this.#context,
      endReason: this.#endReason,
      ...(this.transfer && { transfer: { ...this.transfer } }),
    };
  }
}
