import { MediaError } from '../errors.js';
import type { RtpMap, SessionDescription } from './session-description.js';

/** What a browser's offer settles before the WebRTC stack sees it. */
export interface WebRtcOfferPlan {
  /** The offer with the audio m-line cut down to our codec (+ telephone-event): the stack's answer can then only pick it. */
  offer: string;
  codec: RtpMap;
  telephoneEvent: RtpMap | null;
  /** a=mid of the audio m-line (BUNDLE tag), '' when absent. */
  mid: string;
  /** The browser's DTLS certificate fingerprint (RFC 8122) and its a=setup role (RFC 5763 §5). */
  fingerprint: string;
  setup: string;
}

/**
 * RFC 5764 §8 and JSEP: a browser offers `UDP/TLS/RTP/SAVPF` with ICE and a DTLS fingerprint.
 * Plain SIP offers (`RTP/AVP`, `RTP/SAVP` with SDES) go to the RTP session instead.
 */
export function isWebRtcOffer(offer: SessionDescription): boolean {
  const a = offer.audio;
  if (!a) return false;
  return /^(UDP\/)?TLS\/RTP\/SAVPF?$/i.test(a.proto) || a.attributes.some((x) => x.startsWith('fingerprint:'));
}

/**
 * Chooses PCMU or PCMA (in `prefs` order) and RFC 4733 events at 8 kHz from a browser's offer, and
 * rewrites the audio m-section so the WebRTC stack answers with exactly those: Chromium puts Opus
 * first, and a stack that mirrors the offer would answer Opus, which the ASR cannot take untranscoded.
 * Throws MEDIA_ERR_SDP_NO_COMMON_CODEC (→ 488) when neither G.711 law is offered.
 */
export function planWebRtcAnswer(text: string, parsed: SessionDescription, prefs: readonly ('PCMU' | 'PCMA')[], fullIce = false, loopbackBind = false): WebRtcOfferPlan {
  const a = parsed.audio;
  if (!a || a.port === 0) throw new MediaError('MEDIA_ERR_SDP_NO_COMMON_CODEC', 'offer has no audio stream', {});
  const attr = (name: string): string | undefined => {
    const hit = a.attributes.find((x) => x.startsWith(`${name}:`));
    return hit?.slice(name.length + 1);
  };
  // RFC 8842 §5.1: the fingerprint may sit at session level; parseSdp keeps only media-level a= lines.
  const fingerprint = attr('fingerprint') ?? /^a=fingerprint:(.+)$/m.exec(text)?.[1]?.trim();
  if (!fingerprint) throw new MediaError('MEDIA_ERR_SDP_MALFORMED', 'DTLS-SRTP offer without a=fingerprint', {});
  if (!attr('ice-ufrag') && !/^a=ice-ufrag:/m.test(text)) throw new MediaError('MEDIA_ERR_SDP_MALFORMED', 'WebRTC offer without a=ice-ufrag', {});
  let codec: RtpMap | undefined;
  for (const name of prefs) {
    codec = a.rtpmaps.find((r) => r.encoding.toUpperCase() === name && r.clockRate === 8000 && a.formats.includes(r.payloadType));
    if (codec) break;
  }
  if (!codec) {
    throw new MediaError('MEDIA_ERR_SDP_NO_COMMON_CODEC', 'browser offered no G.711 (want PCMU or PCMA)', {
      offered: a.rtpmaps.map((r) => `${r.payloadType} ${r.encoding}/${r.clockRate}`),
    });
  }
  const te = a.rtpmaps.find((r) => r.encoding.toLowerCase() === 'telephone-event' && r.clockRate === 8000 && a.formats.includes(r.payloadType)) ?? null;
  const keep = new Set([codec.payloadType, ...(te ? [te.payloadType] : [])]);
  return {
    offer: restrictAudio(text, keep, fullIce, loopbackBind),
    codec,
    telephoneEvent: te,
    mid: attr('mid') ?? '',
    fingerprint,
    setup: attr('setup') ?? 'actpass',
  };
}

const PT_ATTR = /^a=(rtpmap|fmtp|rtcp-fb):(\d+)[ \t]/;
/** A UDP host or server-reflexive candidate whose address is an IPv4 or IPv6 literal (RFC 8839 §5.1). */
const CHECKABLE = /^a=candidate:\S+ 1 udp \d+ (\d{1,3}(\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:.]*) \d+ typ (host|srflx)( |$)/i;
const MAX_CHECKED = 4;

/**
 * Whether full ICE may send checks to a candidate's address. Anyone with demo credentials writes
 * the candidates, so they must not make the gateway probe what only it can reach: never the
 * unspecified, broadcast, multicast or link-local ranges, nor a port below 1024 (browsers gather on
 * ephemeral ports), and loopback only when our own media is bound there (a test or a lone machine).
 * Private unicast stays allowed: a browser on the gateway's LAN offers exactly those.
 */
export function checkableCandidate(address: string, port: number, loopbackBind: boolean): boolean {
  if (!(port >= 1024 && port <= 65535)) return false;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    if (a === 127) return loopbackBind;
    return !(a === 0 || a >= 224 || (a === 169 && b === 254));
  }
  const v6 = address.toLowerCase();
  if (v6 === '::1') return loopbackBind;
  return !(v6 === '::' || v6.startsWith('ff') || /^fe[89ab]/.test(v6) || v6.startsWith('::ffff:'));
}

/** Keeps only `keep` payload types in the first audio m-section (m= formats and their rtpmap/fmtp/rtcp-fb). */
function restrictAudio(text: string, keep: ReadonlySet<number>, fullIce: boolean, loopbackBind: boolean): string {
  const lines = text.split(/\r?\n/);
  let checked = 0;
  let section: 'session' | 'audio' | 'other' = 'session';
  let seenAudio = false;
  const out: string[] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) {
      const isAudio = line.startsWith('m=audio ') && !seenAudio;
      section = isAudio ? 'audio' : 'other';
      if (isAudio) {
        seenAudio = true;
        const [m, port, proto, ...fmts] = line.split(' ');
        out.push([m, port, proto, ...fmts.filter((f) => keep.has(Number(f)))].join(' '));
        continue;
      }
    }
    if (section === 'audio') {
      const pt = PT_ATTR.exec(line);
      if (pt && !keep.has(Number(pt[2]))) continue;
    }
    // ICE-lite in effect (RFC 8445 §2.5): our agent is told of no remote candidate, so it sends no
    // check of its own and only answers the browser's (learning its address as peer-reflexive).
    // It never probes an address before the browser holds our answer — a stack that is checked
    // that early may start DTLS before it knows our fingerprint — and a browser's mDNS `.local`
    // candidates, which we could not resolve, are not needed.
    if (fullIce && line.startsWith('a=candidate:')) {
      // Full ICE (webrtc.fullIce): our agent checks the browser's IP candidates at once and is
      // connected before the browser holds our answer, without libjuice's 50 ms triggered check.
      // Names (mDNS) are not resolved; at most MAX_CHECKED addresses, only where an admitted offer points.
      const c = CHECKABLE.exec(line);
      const [address, port] = c ? line.split(' ').slice(4, 6) : [];
      if (c && checkableCandidate(address!, Number(port), loopbackBind) && ++checked <= MAX_CHECKED) out.push(line);
      continue;
    }
    // RFC 5763 §5 with full ICE: we answer passive (the stack is told the browser is active), so
    // our DTLS server is listening before the browser, holding our answer, sends its ClientHello.
    if (fullIce && line === 'a=setup:actpass') {
      out.push('a=setup:active');
      continue;
    }
    if (line.startsWith('a=candidate:') || line === 'a=end-of-candidates') continue;
    out.push(line);
  }
  return out.join('\r\n');
}

/**
 * ICE host candidate for the configured public address (behind 1:1 NAT), added after the stack's
 * own: RFC 8445 §5.1.2 priority with type preference 126 (host) and a lower local preference.
 */
export function addHostCandidate(answer: string, address: string, port: number): string {
  if (!address || answer.includes(` ${address} ${port} typ host`)) return answer;
  const priority = (126 << 24) + (60000 << 8) + 255;
  const line = `a=candidate:9 1 UDP ${priority} ${address} ${port} typ host`;
  const lines = answer.split(/\r?\n/);
  const at = lines.findIndex((l) => l.startsWith('a=end-of-candidates'));
  const lastCandidate = lines.reduce((last, l, i) => (l.startsWith('a=candidate:') ? i : last), -1);
  const insertAt = at >= 0 ? at : lastCandidate >= 0 ? lastCandidate + 1 : lines.length - (lines[lines.length - 1] === '' ? 1 : 0);
  lines.splice(insertAt, 0, line);
  return lines.join('\r\n');
}

/**
 * Announces the SSRC we send with (RFC 5576 a=ssrc + cname): the stack answering for a track the
 * browser opened does not, and with BUNDLE a browser routes an unannounced SSRC only by guesswork.
 */
export function addSsrc(answer: string, ssrc: number, cname: string): string {
  if (new RegExp(`^a=ssrc:${ssrc} `, 'm').test(answer)) return answer;
  const lines = answer.split(/\r?\n/);
  const m = lines.findIndex((l) => l.startsWith('m=audio '));
  if (m < 0) return answer;
  let end = lines.findIndex((l, i) => i > m && l.startsWith('m='));
  if (end < 0) end = lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
  lines.splice(end, 0, `a=ssrc:${ssrc} cname:${cname}`);
  return lines.join('\r\n');
}
