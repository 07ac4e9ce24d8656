import { EventEmitter } from 'node:events';
import type { EndReason, IncomingCallEvents, OutgoingCall, Peer, SipRequest, Transport } from '../../sip/index.js';

/**
 * The SIP side of a Call: an IncomingCall as it is, or an answered OutgoingCall through
 * OutboundLeg. One call model: the Call (media, agent, leases) does not care who dialled.
 */
export interface CallLeg extends EventEmitter<IncomingCallEvents> {
  readonly callId: string;
  /** The peer's SDP offer (an inbound INVITE's); undefined for a call we placed. */
  readonly offer: string | undefined;
  /** An inbound call's INVITE (its User-Agent picks a browser leg's ICE mode); undefined for a call we placed. */
  readonly invite: SipRequest | undefined;
  readonly state: string;
  /** The peer's address: an inbound INVITE's source, or where our INVITE went (its SRTP policy is looked up by it). */
  readonly source: Peer;
  readonly transport: Pick<Transport, 'protocol'>;
  /** The peer takes RFC 3262 reliable provisionals (an inbound caller that named 100rel). */
  readonly reliableProvisionals: boolean;
  progress(status: 180 | 183, sdp?: string): void;
  reject(status?: number, reason?: string): void;
  /** Answers with `sdp`; resolves with the SDP of the ACK (a delayed offer's answer), if any. */
  answer(sdp: string): Promise<string | undefined>;
  hangup(): Promise<void>;
}

/** An answered OutgoingCall as a CallLeg: its ending, DTMF and re-INVITEs reach the Call as an inbound dialog's do. */
export class OutboundLeg extends EventEmitter<IncomingCallEvents> implements CallLeg {
  readonly offer = undefined;
  readonly invite = undefined;
  readonly #sip: OutgoingCall;

  constructor(sip: OutgoingCall) {
    super();
    this.#sip = sip;
    sip.on('dtmf', (d, ms) => this.emit('dtmf', d, ms));
    sip.on('reinvite', (offer, answer) => this.emit('reinvite', offer, answer));
    sip.once('ended', (end) => {
      const reason: EndReason = end.reason === 'bye' ? 'bye' : end.reason === 'shutdown' ? 'shutdown' : 'hangup';
      this.emit('ended', reason);
    });
  }

  get callId(): string { return this.#sip.callId; }
  get state(): string { return this.#sip.state; }
  get source(): Peer { return { address: this.#sip.destination.address, port: this.#sip.destination.port }; }
  get transport(): Pick<Transport, 'protocol'> { return this.#sip.transport; }
  readonly reliableProvisionals = false;
  /** Nothing to send: the callee answered already. */
  progress(): void {}

  /** Already answered (the callee did): a Call that fails to start ends the dialog with BYE. */
  reject(): void { this.#sip.hangup().catch(() => undefined); }
  answer(): Promise<string | undefined> { return Promise.resolve(undefined); }
  hangup(): Promise<void> { return this.#sip.hangup(); }
}
