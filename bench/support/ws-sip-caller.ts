import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { DigestClient } from '../../sip/digest/index.js';

export interface WsResponse {
  status: number;
  text: string;
  body: string;
  header(name: string): string | undefined;
}

const hex = (n: number): string => randomBytes(n).toString('hex');

/**
 * What sip.js does in the demo page, by hand, for Node callers: one SIP WebSocket (RFC 7118) per
 * caller, an INVITE answered with digest credentials from POST /demo/session, ACK, and BYE.
 * Used by bench:webrtc and the WebRTC integration tests; the page itself uses sip.js.
 */
export class WsSipCaller {
  readonly #ws: WebSocket;
  readonly #user: string;
  readonly #digest: DigestClient | undefined;
  readonly #callId = hex(10);
  readonly #tag = hex(4);
  #cseq = 0;
  #toHeader = '';
  #target = '';
  #waiters: Array<(r: WsResponse) => void> = [];
  /** Requests the gateway sent us (BYE when it hangs up). */
  readonly requests: string[] = [];
  /** performance.now() of each INVITE sent and of its final response, in order (bench:webrtc's setup phases). */
  readonly inviteTimes: Array<{ sentAt: number; finalAt: number; status: number }> = [];

  private constructor(ws: WebSocket, user: string, password: string | undefined) {
    this.#ws = ws;
    this.#user = user;
    this.#digest = password === undefined ? undefined : new DigestClient({ username: user, password });
    ws.on('message', (data) => this.#onMessage(data.toString()));
  }

  static async connect(url: string, user: string, password?: string): Promise<WsSipCaller> {
    const ws = new WebSocket(url, 'sip', { rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new WsSipCaller(ws, user, password);
  }

  get callId(): string {
    return this.#callId;
  }

  #onMessage(text: string): void {
    const status = Number(/^SIP\/2\.0 (\d{3})/.exec(text)?.[1]);
    if (!status) {
      this.requests.push(text);
      // RFC 3261 §15.1.2: a BYE gets a 200.
      if (text.startsWith('BYE ')) this.#ws.send(this.#responseTo(text, 200, 'OK'));
      return;
    }
    const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(text)?.[1]?.trim();
    const split = text.indexOf('\r\n\r\n');
    const r: WsResponse = { status, text, body: split >= 0 ? text.slice(split + 4) : '', header };
    if (status < 200) return;
    for (const w of this.#waiters.splice(0)) w(r);
  }

  #responseTo(req: string, status: number, reason: string): string {
    const keep = req.split('\r\n').filter((l) => /^(via|from|to|call-id|cseq):/i.test(l));
    return [`SIP/2.0 ${status} ${reason}`, ...keep, 'Content-Length: 0', '', ''].join('\r\n');
  }

  #send(method: string, uri: string, branch: string, cseq: number, extra: string[], body = ''): void {
    this.#ws.send([
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/WSS ${this.#user}.invalid;branch=${branch}`,
      'Max-Forwards: 70',
      `From: <sip:${this.#user}@warmline.invalid>;tag=${this.#tag}`,
      `To: ${method === 'INVITE' ? `<${uri}>` : this.#toHeader}`,
      `Call-ID: ${this.#callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:${this.#user}@${this.#user}.invalid;transport=ws>`,
      ...extra,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'));
  }

  #final(timeoutMs: number): Promise<WsResponse> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no final response within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push((r) => {
        clearTimeout(t);
        resolve(r);
      });
    });
  }

  /**
   * INVITE with `sdp`; answers one digest challenge; ACKs the final response. With `challenge`
   * (the one POST /demo/session hands out) the first INVITE already carries the Authorization.
   */
  /** Sent as the INVITE's User-Agent when set (the gateway picks a browser leg's ICE mode by it). */
  userAgent: string | undefined;

  async invite(target: string, sdp: string, timeoutMs = 10_000, challenge?: string): Promise<WsResponse> {
    this.#target = target;
    let auth: string[] = [];
    if (challenge && this.#digest) {
      const out = this.#digest.answer(401, challenge, 'INVITE', target);
      if (out.kind === 'retry') auth = [`${out.header}: ${out.value}`];
    }
    for (let round = 0; ; round++) {
      const branch = `z9hG4bK${hex(8)}`;
      const cseq = ++this.#cseq;
      const final = this.#final(timeoutMs);
      const sentAt = performance.now();
      this.#send('INVITE', target, branch, cseq, ['Content-Type: application/sdp', ...(this.userAgent ? [`User-Agent: ${this.userAgent}`] : []), ...auth], sdp);
      const r = await final;
      this.inviteTimes.push({ sentAt, finalAt: performance.now(), status: r.status });
      this.#toHeader = r.header('to') ?? '';
      // §17.1.1.3: a non-2xx final response is ACKed in the INVITE's transaction (same branch).
      this.#send('ACK', target, r.status >= 300 ? branch : `z9hG4bK${hex(8)}`, cseq, []);
      const challenge = r.header('www-authenticate') ?? r.header('proxy-authenticate');
      if ((r.status === 401 || r.status === 407) && challenge && this.#digest && round === 0) {
        const out = this.#digest.answer(r.status, challenge, 'INVITE', target);
        if (out.kind !== 'retry') return r;
        auth = [`${out.header}: ${out.value}`];
        continue;
      }
      return r;
    }
  }

  async bye(timeoutMs = 5000): Promise<WsResponse> {
    const final = this.#final(timeoutMs);
    this.#send('BYE', this.#target, `z9hG4bK${hex(8)}`, ++this.#cseq, []);
    return final;
  }

  close(): void {
    this.#ws.close();
  }
}
