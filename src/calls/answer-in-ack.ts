import { isMediaError, parseSdp, type Negotiated, type RtpMap, type SdpNegotiator } from '../../media/index.js';
import { SdpAnswerError } from './errors.js';

type Codec = 'PCMU' | 'PCMA';
const STATIC: Record<Codec, number> = { PCMU: 0, PCMA: 8 };

/**
 * The media of a call we made the offer for (an INVITE without SDP: our
 * offer went in the 200, RFC 3264 §5), read from the answer in the ACK.
 * The answer may keep only codecs we offered (§6.1), at the payload types
 * we gave them for the static ones; its order is the answerer's preference.
 * A missing answer, an unparsable one, a rejected audio stream (port 0) or
 * no codec of ours throws WL_ERR_SDP_ANSWER: after a 200 nothing but BYE is left.
 * When our offer was RTP/SAVP (the source's SRTP policy `required`), the answer is read by the
 * negotiator that made it (`savpOfferer`) (acceptAnswer: a suite we offered, a key of the answerer's own).
 */
export function negotiatedFromAnswer(callId: string, answerText: string | undefined, offered: readonly Codec[], savpOfferer?: SdpNegotiator): Negotiated {
  const fail = (why: string, cause?: unknown): never => {
    throw new SdpAnswerError({ callId, why }, cause === undefined ? undefined : { cause });
  };
  if (answerText === undefined) return fail('the ACK carries no SDP');
  let answer;
  try {
    answer = parseSdp(answerText);
  } catch (err) {
    if (isMediaError(err)) return fail(err.message, err);
    throw err;
  }
  const a = answer.audio;
  if (!a || a.port === 0) return fail('the audio stream was refused (no m=audio or port 0)');
  if (savpOfferer) {
    try {
      return savpOfferer.acceptAnswer(answer);
    } catch (err) {
      if (isMediaError(err)) return fail(err.message, err);
      throw err;
    }
  }
  if (a.proto !== 'RTP/AVP') return fail(`transport ${a.proto}, we offered RTP/AVP`);
  const address = a.connection ?? answer.connection?.address;
  if (!address) return fail('no c= address');
  let codec: RtpMap | undefined;
  for (const pt of a.formats) {
    const r = a.rtpmaps.find((m) => m.payloadType === pt);
    const name = r?.encoding.toUpperCase() as Codec | undefined;
    if (r && name && offered.includes(name) && STATIC[name] === pt && r.clockRate === 8000) {
      codec = r;
      break;
    }
  }
  if (!codec) return fail(`no codec we offered (${offered.join(', ')}) in m=audio ${a.formats.join(' ')}`);
  const te = a.rtpmaps.find((r) => r.encoding.toLowerCase() === 'telephone-event' && r.clockRate === 8000 && a.formats.includes(r.payloadType)) ?? null;
  // Its direction is the answerer's: sendonly there is recvonly here.
  const direction = a.direction === 'sendonly' ? 'recvonly' : a.direction === 'recvonly' ? 'sendonly' : a.direction;
  return {
    codec,
    telephoneEvent: te,
    remoteAddress: address,
    remotePort: a.port,
    remoteRtcpPort: a.rtcpPort ?? a.port + 1,
    direction,
    ptime: 20,
  };
}
