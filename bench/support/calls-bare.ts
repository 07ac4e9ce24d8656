// bench:calls' bare baseline: the irreducible I/O of one bench call in a minimal Node program, run
// with the gateway's V8 flags and pinned the same way, so that its CPU per call is the floor any
// Node gateway with this call shape pays. It answers sipp's INVITE by hand (100 and 200 with a fixed
// SDP, nothing for ACK, 200 to BYE; a retransmitted INVITE gets its 200 again), binds an RTP/RTCP
// port pair per call and closes it at the BYE, forwards the caller's audio to an already-open TLS
// WebSocket to the local ASR (40 ms batches, as the gateway's default audioBatchMs, Finalize at the
// BYE), opens the greeting's TTS context on an already-open multi-context TLS WebSocket (context,
// text and flush in one write, as the gateway corks them), decodes its audio messages and paces them
// out as RTP every 20 ms from one shared timer until the BYE closes the context.
// Skipped (what the gateway does beyond I/O): SIP parsing beyond the few headers echoed, the
// transaction layer and its retransmission timers, the edge filter and rate limits, leases and
// pools, the agent and its turn, the jitter buffer, metrics, logging, analytics, the HTTP API.
// Env: BARE_ASR_URL, BARE_TTS_URL, BARE_API_KEY, BARE_GREETING, BARE_ASR_SOCKETS, BARE_TTS_SOCKETS.
// Prints `bare ready: sip:127.0.0.1:<port>` on stderr; on SIGUSR2 `bare stats {json}`.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import { WebSocket, type RawData } from 'ws';

const env = (k: string) => process.env[k] ?? '';
const asrSockets = Number(env('BARE_ASR_SOCKETS'));
const ttsSockets = Number(env('BARE_TTS_SOCKETS'));
const greeting = env('BARE_GREETING');
const VOICE_SETTINGS = { stability: 0.5, similarity_boost: 0.8, speed: 1 };

function open(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Frames sent in one tick leave in one TLS write (the gateway's TickCork does the same). */
function cork(ws: WebSocket): void {
  const s = (ws as unknown as { _socket?: Socket | null })._socket;
  if (!s || s.writableCorked) return;
  s.cork();
  process.nextTick(() => s.uncork());
}

interface Call {
  id: string;
  ok: Buffer;
  rtp: UdpSocket;
  rtcp: UdpSocket;
  peer: { port: number; address: string };
  asr: WebSocket;
  batch: Buffer[];
  tts: { ws: WebSocket; open: number };
  ctx: string;
  play: Buffer[];
  playOff: number;
  seq: number;
  ts: number;
}

const stats = { calls: 0, ended: 0, rtpIn: 0, rtpOut: 0, asrFrames: 0, ttsMessages: 0, sipIn: 0, sipOut: 0 };
const calls = new Map<string, Call>();
const byCtx = new Map<string, Call>();
const freeAsr: WebSocket[] = [];
const tts: Array<{ ws: WebSocket; open: number }> = [];
let ctxN = 0;
let nextPort = 40000 + 2 * Math.floor(Math.random() * 4000);

const asrUrl = `${env('BARE_ASR_URL').replace(/\/$/, '')}/v1/listen?${new URLSearchParams({ encoding: 'mulaw', sample_rate: '8000', channels: '1', model: 'nova-2-phonecall', language: 'en-US', interim_results: 'true', endpointing: '300', vad_events: 'true', utterance_end_ms: '1000' })}`;
const ttsUrl = `${env('BARE_TTS_URL').replace(/\/$/, '')}/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/multi-stream-input?${new URLSearchParams({ model_id: 'eleven_flash_v2_5', output_format: 'ulaw_8000', inactivity_timeout: '20' })}`;
for (const ws of await Promise.all(Array.from({ length: asrSockets }, () => open(asrUrl, { Authorization: `Token ${env('BARE_API_KEY')}` })))) {
  ws.on('message', () => {}); // results are received, not read: the floor acts on none of them
  freeAsr.push(ws);
}
for (const ws of await Promise.all(Array.from({ length: ttsSockets }, () => open(ttsUrl, { 'xi-api-key': env('BARE_API_KEY') })))) {
  tts.push({ ws, open: 0 });
  ws.on('message', onTts);
}
// The local ASR drops a socket idle for 10 s; the gateway's pools keep theirs alive every 4 s too.
setInterval(() => { for (const ws of freeAsr) ws.send('{"type":"KeepAlive"}'); }, 4000).unref();

function onTts(data: RawData): void {
  stats.ttsMessages++;
  const msg = JSON.parse((data as Buffer).toString('utf8')) as { audio?: string; contextId?: string };
  if (typeof msg.audio !== 'string' || !msg.contextId) return;
  const call = byCtx.get(msg.contextId);
  if (call) call.play.push(Buffer.from(msg.audio, 'base64'));
}

const sip = createSocket('udp4');
function header(text: string, name: string): string {
  const i = text.indexOf(`\n${name}:`);
  if (i < 0) return '';
  return text.slice(i + 1, text.indexOf('\r\n', i + 1));
}
function reply(text: string, status: string, to: string, extra: string, body: string): Buffer {
  return Buffer.from(`SIP/2.0 ${status}\r\n${header(text, 'Via')}\r\n${header(text, 'From')}\r\n${to}\r\n${header(text, 'Call-ID')}\r\n${header(text, 'CSeq')}\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
function send(buf: Buffer, port: number, address: string): void {
  stats.sipOut++;
  sip.send(buf, port, address);
}

function bindPair(): Promise<[UdpSocket, UdpSocket]> {
  return new Promise((resolve, reject) => {
    const port = nextPort;
    nextPort = nextPort >= 49998 ? 40000 : nextPort + 2;
    const rtp = createSocket('udp4');
    const rtcp = createSocket('udp4');
    const fail = () => { rtp.close(); rtcp.close(); bindPair().then(resolve, reject); };
    rtp.once('error', fail);
    rtp.bind(port, '127.0.0.1', () => {
      rtcp.once('error', fail);
      rtcp.bind(port + 1, '127.0.0.1', () => { rtp.removeListener('error', fail); rtcp.removeListener('error', fail); resolve([rtp, rtcp]); });
    });
  });
}

async function invite(text: string, rinfo: { port: number; address: string }): Promise<void> {
  const id = header(text, 'Call-ID');
  const known = calls.get(id);
  if (known) return send(known.ok, rinfo.port, rinfo.address);
  const to = `${header(text, 'To')};tag=b${stats.calls}`;
  send(reply(text, '100 Trying', header(text, 'To'), '', ''), rinfo.port, rinfo.address);
  const m = /m=audio (\d+)/.exec(text);
  const c = /c=IN IP4 (\S+)/.exec(text);
  const [rtp, rtcp] = await bindPair();
  const sdp = `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${rtp.address().port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n`;
  const ok = reply(text, '200 OK', to, `Contact: <sip:bare@127.0.0.1:${sip.address().port}>\r\nContent-Type: application/sdp\r\n`, sdp);
  const t = tts.reduce((a, b) => (b.open < a.open ? b : a));
  t.open++;
  const call: Call = { id, ok, rtp, rtcp, peer: { port: Number(m?.[1]), address: c?.[1] ?? rinfo.address }, asr: freeAsr.pop()!, batch: [], tts: t, ctx: `c${++ctxN}`, play: [], playOff: 0, seq: 0, ts: 0 };
  if (!call.asr) throw new Error('bare: no free ASR socket');
  stats.calls++;
  calls.set(id, call);
  byCtx.set(call.ctx, call);
  rtcp.on('message', () => {});
  rtp.on('message', (pkt) => {
    stats.rtpIn++;
    call.batch.push(pkt.subarray(12));
    if (call.batch.length === 2) flush(call);
  });
  cork(t.ws);
  t.ws.send(JSON.stringify({ text: ' ', context_id: call.ctx, voice_settings: VOICE_SETTINGS }));
  t.ws.send(JSON.stringify({ text: greeting, context_id: call.ctx }));
  t.ws.send(JSON.stringify({ text: ' ', flush: true, context_id: call.ctx }));
  send(ok, rinfo.port, rinfo.address);
}

function flush(call: Call): void {
  if (call.batch.length === 0) return;
  stats.asrFrames++;
  call.asr.send(call.batch.length === 1 ? call.batch[0]! : Buffer.concat(call.batch), { binary: true });
  call.batch = [];
}

function bye(text: string, rinfo: { port: number; address: string }): void {
  const call = calls.get(header(text, 'Call-ID'));
  send(reply(text, '200 OK', header(text, 'To'), '', ''), rinfo.port, rinfo.address);
  if (!call) return;
  calls.delete(call.id);
  byCtx.delete(call.ctx);
  call.rtp.close();
  call.rtcp.close();
  cork(call.asr);
  flush(call);
  call.asr.send('{"type":"Finalize"}');
  freeAsr.push(call.asr);
  call.tts.ws.send(JSON.stringify({ context_id: call.ctx, close_context: true }));
  call.tts.open--;
  stats.ended++;
}

sip.on('message', (msg, rinfo) => {
  stats.sipIn++;
  const text = msg.toString('latin1');
  if (text.startsWith('INVITE ')) invite(text, rinfo).catch((err: Error) => process.stderr.write(`bare: ${err.message}\n`));
  else if (text.startsWith('BYE ')) bye(text, rinfo);
  // ACK: nothing to do. Anything else (none in this scenario) is ignored.
});

// One timer for every call's greeting (the gateway's pacer is one timer too, spread over slots).
setInterval(() => {
  for (const call of calls.values()) {
    const chunk = call.play[0];
    if (!chunk) continue;
    const pkt = Buffer.allocUnsafe(172);
    pkt[0] = 0x80; pkt[1] = 0;
    pkt.writeUInt16BE(call.seq++ & 0xffff, 2);
    pkt.writeUInt32BE((call.ts += 160) >>> 0, 4);
    pkt.writeUInt32BE(0x1234, 8);
    const n = chunk.copy(pkt, 12, call.playOff, call.playOff + 160);
    call.playOff += n;
    if (call.playOff >= chunk.length) { call.play.shift(); call.playOff = 0; }
    stats.rtpOut++;
    call.rtp.send(pkt, 0, 12 + n, call.peer.port, call.peer.address);
  }
}, 20);

process.on('SIGUSR2', () => process.stderr.write(`bare stats ${JSON.stringify({ ...stats, active: calls.size })}\n`));
process.on('SIGTERM', () => process.exit(0));
sip.bind(0, '127.0.0.1', () => process.stderr.write(`bare ready: sip:127.0.0.1:${sip.address().port}\n`));
