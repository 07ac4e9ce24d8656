import dgram from 'node:dgram';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { parseMessage, SipRequest, SipResponse, StreamFramer, type SipMessage } from '../../../sip/index.js';
import { until } from '../../support/wait.js';

export type PeerTransport = 'udp' | 'tcp' | 'ws';

const rand = (n = 6) => randomBytes(n).toString('hex');

/**
 * A caller on a real socket of each SIP transport, written by hand so it can
 * stop at any step: it sends what a test tells it to, keeps every message it
 * receives, and vanishes on request — a UDP peer closes its socket (the
 * gateway's datagrams fall on a closed port), a TCP peer resets its
 * connection, a WebSocket peer drops its socket without a close frame.
 */
export class VanishPeer {
  readonly messages: SipMessage[] = [];
  readonly callId = `vanish-${rand()}`;
  readonly tag = rand(4);
  #cseq = 1;
  #udp: dgram.Socket | undefined;
  #tcp: Socket | undefined;
  #ws: WebSocket | undefined;
  #localPort = 0;
  #vanished = false;
  #lastSend: Promise<void> = Promise.resolve();

  private constructor(readonly transport: PeerTransport, readonly to: { address: string; port: number }) {}

  static async open(transport: PeerTransport, to: { address: string; port: number }): Promise<VanishPeer> {
    const p = new VanishPeer(transport, to);
    const take = (m: Buffer) => { try { p.messages.push(parseMessage(m)); } catch { /* not SIP: ignore */ } };
    if (transport === 'udp') {
      const s = dgram.createSocket('udp4');
      s.on('message', take);
      s.bind(0, '127.0.0.1');
      await once(s, 'listening');
      p.#udp = s;
      p.#localPort = s.address().port;
    } else if (transport === 'tcp') {
      const s = connect({ host: to.address, port: to.port });
      s.on('error', () => undefined);
      await once(s, 'connect');
      const framer = new StreamFramer({ maxMessageBytes: 1 << 20, maxLineBytes: 1 << 16 });
      s.on('data', (chunk: Buffer) => { for (const f of framer.push(chunk)) if (f.kind === 'message') take(f.bytes); });
      p.#tcp = s;
      p.#localPort = s.localPort!;
    } else {
      const ws = new WebSocket(`ws://${to.address}:${to.port}`, 'sip');
      ws.on('error', () => undefined);
      await once(ws, 'open');
      ws.on('message', (data: Buffer) => take(Buffer.from(data)));
      p.#ws = ws;
    }
    return p;
  }

  get #via(): string {
    const proto = this.transport.toUpperCase();
    // RFC 7118 §5: a WebSocket client's Via and Contact host is a made-up, unresolvable name.
    const host = this.transport === 'ws' ? `${this.tag}.invalid` : `127.0.0.1:${this.#localPort}`;
    return `SIP/2.0/${proto} ${host};branch=z9hG4bK${rand()};rport`;
  }

  get contact(): string {
    if (this.transport === 'ws') return `<sip:caller@${this.tag}.invalid;transport=ws>`;
    return `<sip:caller@127.0.0.1:${this.#localPort}${this.transport === 'tcp' ? ';transport=tcp' : ''}>`;
  }

  /** An INVITE with a PCMU offer (RTP to a port nobody listens on: no RTP ever comes back). */
  invite(extra: string[] = [], sdpVersion = 1): SipRequest {
    const sdp = ['v=0', `o=- 1 ${sdpVersion} IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 9 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=ptime:20', ''].join('\r\n');
    const text = [
      `INVITE sip:+15550001000@${this.to.address}:${this.to.port} SIP/2.0`,
      `Via: ${this.#via}`, 'Max-Forwards: 70',
      `From: <sip:+15550000001@127.0.0.1>;tag=${this.tag}`, `To: <sip:+15550001000@${this.to.address}>`,
      `Call-ID: ${this.callId}`, `CSeq: ${this.#cseq++} INVITE`, `Contact: ${this.contact}`,
      ...extra, 'Content-Type: application/sdp', `Content-Length: ${Buffer.byteLength(sdp)}`, '', sdp,
    ].join('\r\n');
    const req = parseMessage(Buffer.from(text)) as SipRequest;
    this.send(req);
    return req;
  }

  /** A request inside the dialog the 200 `ok` set up (ACK reuses the INVITE's CSeq number). */
  inDialog(method: string, ok: SipResponse, opts: { cseq?: number; body?: string; contentType?: string; extra?: string[] } = {}): SipRequest {
    const target = ok.contact[0]?.uri ?? `sip:${this.to.address}:${this.to.port}`;
    const body = opts.body ?? '';
    const text = [
      `${method} ${target} SIP/2.0`, `Via: ${this.#via}`, 'Max-Forwards: 70',
      `From: <sip:+15550000001@127.0.0.1>;tag=${this.tag}`, `To: ${ok.header('to')}`,
      `Call-ID: ${this.callId}`, `CSeq: ${opts.cseq ?? this.#cseq++} ${method}`, `Contact: ${this.contact}`,
      ...(opts.extra ?? []), ...(body ? [`Content-Type: ${opts.contentType ?? 'application/sdp'}`] : []), `Content-Length: ${Buffer.byteLength(body)}`, '', body,
    ].join('\r\n');
    const req = parseMessage(Buffer.from(text)) as SipRequest;
    this.send(req);
    return req;
  }

  /** CANCEL for `invite` (§9.1: same Request-URI, Call-ID, From, To, CSeq number and top Via). */
  cancel(invite: SipRequest): void {
    const text = [
      `CANCEL ${invite.uri} SIP/2.0`, `Via: ${invite.header('via')}`, 'Max-Forwards: 70',
      `From: ${invite.header('from')}`, `To: ${invite.header('to')}`, `Call-ID: ${invite.callId}`,
      `CSeq: ${invite.cseq.seq} CANCEL`, 'Content-Length: 0', '', '',
    ].join('\r\n');
    this.send(text);
  }

  send(m: SipMessage | string): void {
    if (this.#vanished) return;
    const bytes = typeof m === 'string' ? Buffer.from(m) : m.toBuffer();
    const udp = this.#udp;
    if (udp) this.#lastSend = new Promise((resolve) => udp.send(bytes, this.to.port, this.to.address, () => resolve()));
    else if (this.#tcp) this.#tcp.write(bytes);
    else this.#ws!.send(bytes.toString('utf8'));
  }

  async response(status: number, method = 'INVITE', timeoutMs = 10_000): Promise<SipResponse> {
    let found: SipResponse | undefined;
    await until(() => {
      found = this.messages.find((m): m is SipResponse => m instanceof SipResponse && m.status === status && m.cseq.method === method);
      return found !== undefined;
    }, `${status} to ${method} (have ${this.summary()})`, timeoutMs);
    return found!;
  }

  async request(method: string, timeoutMs = 10_000): Promise<SipRequest> {
    let found: SipRequest | undefined;
    await until(() => {
      found = this.messages.find((m): m is SipRequest => m instanceof SipRequest && m.method === method);
      return found !== undefined;
    }, `a ${method} from the gateway (have ${this.summary()})`, timeoutMs);
    return found!;
  }

  summary(): string {
    return this.messages.map((m) => (m instanceof SipResponse ? `${m.status}/${m.cseq.method}` : (m as SipRequest).method)).join(' ') || 'nothing';
  }

  /** The peer is gone: no answer, no close handshake (a datagram already handed over still leaves). */
  async vanish(): Promise<void> {
    if (this.#vanished) return;
    this.#vanished = true;
    await this.#lastSend;
    this.#udp?.close();
    this.#tcp?.resetAndDestroy();
    this.#ws?.terminate();
  }
}
