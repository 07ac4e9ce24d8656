import { createResponse, type SipRequest } from '../message/index.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE';

/** What answering one in-dialog request needs of the outgoing call it belongs to. */
export interface InDialogContext {
  remoteCSeq: number;
  setRemoteCSeq(n: number): void;
  contact: string;
  localSdp(): string;
  setLocalSdp(sdp: string): void;
  bye(): void;
  dtmf(digit: string, durationMs: number): void;
  /** Absent: nobody negotiates a new offer, so the current SDP answers it (the media stays as it is). */
  reinvite: ((offer: string | undefined, answer: (sdp: string) => void) => void) | undefined;
}

/**
 * The callee's requests inside a dialog we placed (§12.2.2): BYE ends it, INFO carries DTMF,
 * OPTIONS is answered, a re-INVITE or UPDATE (hold, a session refresh) is answered with our SDP
 * or the application's new answer. A lower CSeq than the last is out of order (500).
 */
export function answerInDialog(req: SipRequest, tx: ServerTransaction, c: InDialogContext): void {
  if (req.cseq.seq < c.remoteCSeq) {
    tx.respond(createResponse(req, 500, { reason: 'CSeq Out of Order' }));
    return;
  }
  c.setRemoteCSeq(req.cseq.seq);
  switch (req.method) {
    case 'BYE':
      tx.respond(createResponse(req, 200));
      c.bye();
      return;
    case 'OPTIONS':
      tx.respond(createResponse(req, 200, { headers: { allow: ALLOW, accept: 'application/sdp, application/dtmf-relay' } }));
      return;
    case 'INFO': {
      const digit = dtmfOf(req);
      if (!digit) {
        tx.respond(createResponse(req, 415, { headers: { accept: 'application/dtmf-relay, application/dtmf' } }));
        return;
      }
      tx.respond(createResponse(req, 200));
      c.dtmf(digit.digit, digit.duration);
      return;
    }
    case 'INVITE':
    case 'UPDATE': {
      const offer = req.body.length ? req.body.toString('utf8') : undefined;
      const reply = (sdp: string | undefined) => {
        if (sdp !== undefined) c.setLocalSdp(sdp);
        // An UPDATE without an offer (a session refresh) gets no SDP; a re-INVITE always carries ours.
        const body = req.method === 'INVITE' ? sdp ?? c.localSdp() : sdp;
        tx.respond(createResponse(req, 200, { headers: { contact: `<${c.contact}>` }, ...(body !== undefined && { body, contentType: 'application/sdp' }) }));
      };
      if (offer !== undefined && c.reinvite) c.reinvite(offer, (sdp) => reply(sdp));
      else reply(offer !== undefined ? c.localSdp() : undefined);
      return;
    }
    default:
      tx.respond(createResponse(req, 501, { headers: { allow: ALLOW } }));
  }
}

function dtmfOf(req: SipRequest): { digit: string; duration: number } | undefined {
  const body = req.body.toString('utf8');
  const type = (req.contentType ?? '').toLowerCase();
  let digit: string | undefined;
  let duration = 100;
  if (type.startsWith('application/dtmf-relay')) {
    digit = /Signal\s*=\s*([0-9*#A-Da-d])/.exec(body)?.[1];
    duration = Number(/Duration\s*=\s*(\d+)/.exec(body)?.[1] ?? 100);
  } else if (type.startsWith('application/dtmf')) {
    digit = /^\s*([0-9*#A-Da-d])\s*$/.exec(body)?.[1];
  }
  return digit ? { digit: digit.toUpperCase(), duration } : undefined;
}
