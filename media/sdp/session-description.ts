import { MediaError } from '../errors.js';

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface RtpMap {
  payloadType: number;
  encoding: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
}

export interface AudioMedia {
  port: number;
  proto: string;
  formats: number[];
  rtpmaps: RtpMap[];
  connection?: string; // media-level c= address
  direction: Direction;
  ptime?: number;
  rtcpPort?: number;
  /** a= lines not modelled above, kept verbatim (ice, fingerprint, …) */
  attributes: string[];
}

export interface SessionDescription {
  origin: { username: string; sessionId: string; sessionVersion: number; addrType: 'IP4' | 'IP6'; address: string };
  sessionName: string;
  connection?: { addrType: 'IP4' | 'IP6'; address: string };
  audio: AudioMedia | null;
  /** other m= lines (video…) so an answer can reject them with port 0 */
  otherMedia: string[];
}

// RFC 3551 static payload types a carrier may offer without rtpmap.
const STATIC: Record<number, RtpMap> = {
  0: { payloadType: 0, encoding: 'PCMU', clockRate: 8000 },
  8: { payloadType: 8, encoding: 'PCMA', clockRate: 8000 },
  9: { payloadType: 9, encoding: 'G722', clockRate: 8000 },
  18: { payloadType: 18, encoding: 'G729', clockRate: 8000 },
};

const DIRECTIONS = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

export function parseSdp(text: string): SessionDescription {
  const bad = (why: string, line?: string): never => {
    throw new MediaError('MEDIA_ERR_SDP_MALFORMED', why, line === undefined ? {} : { line });
  };
  if (typeof text !== 'string' || text.trim() === '') bad('empty SDP');
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines[0] !== 'v=0') bad('SDP must start with v=0', lines[0]);
  let origin: SessionDescription['origin'] | undefined;
  let sessionName = '-';
  let connection: SessionDescription['connection'];
  let audio: AudioMedia | null = null;
  const otherMedia: string[] = [];
  let sessionDirection: Direction = 'sendrecv';
  let inMedia: 'none' | 'audio' | 'other' = 'none';
  let audioDirSet = false;
  for (const line of lines) {
    if (line[1] !== '=') bad('line is not type=value', line);
    const type = line[0];
    const value = line.slice(2);
    if (type === 'm') {
      const m = /^(\w+) (\d+)(?:\/\d+)? (\S+) ?(.*)$/.exec(value);
      if (!m) bad('bad m= line', line);
      if (m![1] === 'audio' && audio === null) {
        const formats = m![4]!.trim() === '' ? [] : m![4]!.trim().split(/\s+/).map(Number);
        if (formats.some((f) => !Number.isInteger(f) || f < 0 || f > 127)) bad('bad payload type in m=audio', line);
        const port = Number(m![2]);
        if (port > 65535) bad('bad port in m=audio', line);
        audio = { port, proto: m![3]!, formats, rtpmaps: [], direction: sessionDirection, attributes: [] };
        inMedia = 'audio';
      } else {
        otherMedia.push(value);
        inMedia = 'other';
      }
      continue;
    }
    if (type === 'o') {
      const p = value.split(' ');
      if (p.length !== 6 || (p[4] !== 'IP4' && p[4] !== 'IP6')) bad('bad o= line', line);
      origin = { username: p[0]!, sessionId: p[1]!, sessionVersion: Number(p[2]), addrType: p[4] as 'IP4' | 'IP6', address: p[5]! };
    } else if (type === 's') sessionName = value;
    else if (type === 'c') {
      const p = value.split(' ');
      if (p.length !== 3 || p[0] !== 'IN' || (p[1] !== 'IP4' && p[1] !== 'IP6')) bad('bad c= line', line);
      const addr = p[2]!.split('/')[0]!;
      if (inMedia === 'audio') audio!.connection = addr;
      else if (inMedia === 'none') connection = { addrType: p[1] as 'IP4' | 'IP6', address: addr };
    } else if (type === 'a') {
      if (DIRECTIONS.has(value)) {
        if (inMedia === 'none') {
          sessionDirection = value as Direction;
        } else if (inMedia === 'audio') {
          audio!.direction = value as Direction;
          audioDirSet = true;
        }
        continue;
      }
      if (inMedia !== 'audio') continue;
      const a = audio!;
      const rtpmap = /^rtpmap:(\d+) ([^/]+)\/(\d+)(?:\/(\d+))?$/.exec(value);
      const fmtp = /^fmtp:(\d+) (.*)$/.exec(value);
      if (rtpmap) {
        const map: RtpMap = { payloadType: Number(rtpmap[1]), encoding: rtpmap[2]!, clockRate: Number(rtpmap[3]) };
        if (rtpmap[4]) map.channels = Number(rtpmap[4]);
        a.rtpmaps.push(map);
      } else if (fmtp) {
        const m = a.rtpmaps.find((r) => r.payloadType === Number(fmtp[1]));
        if (m) m.fmtp = fmtp[2]!;
        else a.attributes.push(value);
      } else if (value.startsWith('ptime:')) {
        a.ptime = Number(value.slice(6));
      } else if (value.startsWith('rtcp:')) {
        a.rtcpPort = Number(value.slice(5).split(' ')[0]);
      } else a.attributes.push(value);
    }
  }
  if (!origin) bad('missing o= line');
  if (audio && !audioDirSet) audio.direction = sessionDirection;
  if (audio) {
    for (const pt of audio.formats) {
      if (!audio.rtpmaps.some((r) => r.payloadType === pt) && STATIC[pt]) audio.rtpmaps.push({ ...STATIC[pt]! });
    }
  }
  if (audio && !audio.connection && !connection) bad('no c= line for the audio stream');
  return { origin: origin!, sessionName, connection, audio, otherMedia };
}

export function buildSdp(d: SessionDescription): string {
  const out: string[] = [
    'v=0',
    `o=${d.origin.username} ${d.origin.sessionId} ${d.origin.sessionVersion} IN ${d.origin.addrType} ${d.origin.address}`,
    `s=${d.sessionName}`,
  ];
  if (d.connection) out.push(`c=IN ${d.connection.addrType} ${d.connection.address}`);
  out.push('t=0 0');
  if (d.audio) {
    const a = d.audio;
    out.push(`m=audio ${a.port} ${a.proto} ${a.formats.join(' ')}`);
    if (a.connection) out.push(`c=IN ${a.connection.includes(':') ? 'IP6' : 'IP4'} ${a.connection}`);
    if (a.rtcpPort !== undefined) out.push(`a=rtcp:${a.rtcpPort}`);
    for (const pt of a.formats) {
      const m = a.rtpmaps.find((r) => r.payloadType === pt);
      if (!m) continue;
      out.push(`a=rtpmap:${pt} ${m.encoding}/${m.clockRate}${m.channels ? `/${m.channels}` : ''}`);
      if (m.fmtp) out.push(`a=fmtp:${pt} ${m.fmtp}`);
    }
    if (a.ptime !== undefined) out.push(`a=ptime:${a.ptime}`);
    out.push(`a=${a.direction}`);
    for (const attr of a.attributes) out.push(`a=${attr}`);
  }
  for (const m of d.otherMedia) {
    // RFC 3264 §6: a rejected stream is answered with port 0.
    const [kind, , ...rest] = m.split(' ');
    out.push(`m=${kind} 0 ${rest.join(' ')}`);
  }
  return out.join('\r\n') + '\r\n';
}
