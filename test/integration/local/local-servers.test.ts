import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect as h2connect } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import alawmulaw from 'alawmulaw';
import { startLocalUpstreams, type LocalUpstreams } from '../../../src/local/index.js';
import { until } from '../../support/wait.js';

// Plain clients written here, not the connectors: these tests check the servers against the providers' protocols.
const { mulaw } = alawmulaw;
const KEY = 'local-dev-key';

function tone(freqs: number[], ms: number, amp = 8000): Buffer {
  const n = (ms * 8000) / 1000;
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(freqs.reduce((s, f) => s + amp * Math.sin((2 * Math.PI * f * i) / 8000), 0) / freqs.length);
  return Buffer.from(mulaw.encode(pcm));
}
const silence = (ms: number) => Buffer.alloc((ms * 8000) / 1000, 0xff);

function wsOpen(url: string, headers: Record<string, string>, ca: string, protocols: string[] = []): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers, ca });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function messages(ws: WebSocket): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => out.push(JSON.parse(d.toString()) as Record<string, unknown>));
  return out;
}


describe('local upstreams: protocol behaviour seen by plain clients', function () {
  this.timeout(30000);
  let up: LocalUpstreams;
  before(async () => { up = await startLocalUpstreams({ asrIdleTimeoutMs: 600, ttsInactivityTimeoutMs: 800 }); });
  after(() => up.close());

  const listen = (q = 'encoding=mulaw&sample_rate=8000&interim_results=true&vad_events=true&endpointing=300&utterance_end_ms=1000') => `${up.asr.url}/v1/listen?${q}`;

  it('ASR refuses a missing or wrong key with 401 and an unsupported encoding with 400', async () => {
    await assert.rejects(wsOpen(listen(), {}, up.ca), /HTTP 401/);
    await assert.rejects(wsOpen(listen(), { Authorization: 'Token nope' }, up.ca), /HTTP 401/);
    await assert.rejects(wsOpen(listen('encoding=opus&sample_rate=48000'), { Authorization: `Token ${KEY}` }, up.ca), /HTTP 400/);
    // the subprotocol form of the key is accepted too
    const ws = await wsOpen(listen(), {}, up.ca, ['token', KEY]);
    ws.close();
  });

  it('ASR reports speech start, interim and final results with speech_final, then UtteranceEnd', async () => {
    const ws = await wsOpen(listen(), { Authorization: `Token ${KEY}` }, up.ca);
    const got = messages(ws);
    // 20 ms frames, as a carrier leg sends them
    const audio = Buffer.concat([silence(200), tone([300, 500, 700], 1200), silence(600)]);
    for (let i = 0; i < audio.length; i += 160) ws.send(audio.subarray(i, i + 160));
    // This suite's idle window is 600 ms: keep the stream alive while the utterance end comes due.
    const keep = setInterval(() => ws.send(JSON.stringify({ type: 'KeepAlive' })), 200);
    try {
      await until(() => got.some((m) => m.type === 'UtteranceEnd'), 'UtteranceEnd');
    } finally { clearInterval(keep); }
    const started = got.find((m) => m.type === 'SpeechStarted');
    assert.ok(started, 'SpeechStarted');
    assert.ok(got.some((m) => m.type === 'Results' && m.is_final === false), 'an interim result');
    const final = got.find((m) => m.type === 'Results' && m.is_final === true) as { speech_final: boolean; duration: number; channel: { alternatives: Array<{ transcript: string }> } };
    assert.equal(final.speech_final, true);
    assert.ok(final.duration > 1.0 && final.duration < 1.4, `duration ${final.duration}`);
    assert.match(final.channel.alternatives[0]!.transcript, /^\[speech 1\.\d\d s\]$/);
    ws.close();
  });

  it('ASR hears in-band DTMF digits', async () => {
    const ws = await wsOpen(listen(), { Authorization: `Token ${KEY}` }, up.ca);
    const got = messages(ws);
    ws.send(Buffer.concat([tone([770, 1336], 100), silence(100), tone([941, 1477], 100), silence(100)]));
    await until(() => got.filter((m) => m.type === 'Results').length >= 2, 'dtmf results');
    const texts = got.filter((m) => m.type === 'Results').map((m) => (m.channel as { alternatives: Array<{ transcript: string }> }).alternatives[0]!.transcript);
    assert.deepEqual(texts, ['[dtmf 5]', '[dtmf #]']);
    ws.close();
  });

  it('ASR answers Finalize with from_finalize, and CloseStream with Metadata and a clean close', async () => {
    const ws = await wsOpen(listen(), { Authorization: `Token ${KEY}` }, up.ca);
    const got = messages(ws);
    ws.send(JSON.stringify({ type: 'Finalize' }));
    await until(() => got.some((m) => m.from_finalize === true), 'from_finalize');
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send(JSON.stringify({ type: 'CloseStream' }));
    assert.equal(await closed, 1000);
    assert.ok(got.some((m) => m.type === 'Metadata'));
  });

  it('ASR closes an idle socket with 1011 NET-0001; KeepAlive holds it open', async () => {
    const idle = await wsOpen(listen(), { Authorization: `Token ${KEY}` }, up.ca);
    const [code, reason] = await new Promise<[number, string]>((r) => idle.once('close', (c, why) => r([c, why.toString()])));
    assert.equal(code, 1011);
    assert.match(reason, /NET-0001/);
    const kept = await wsOpen(listen(), { Authorization: `Token ${KEY}` }, up.ca);
    let closedEarly = false;
    kept.once('close', () => { closedEarly = true; });
    // An idle socket opened after `kept` is closed by the idle timeout: until it is, `kept` has
    // been held open only by its KeepAlives (sent at a steady pace, as a client would).
    const control = await wsOpen(listen(), { Authorization: `Token ${KEY}` }, up.ca);
    let controlClosed = false;
    control.once('close', () => { controlClosed = true; });
    const keepalive = setInterval(() => kept.send(JSON.stringify({ type: 'KeepAlive' })), 200);
    try {
      await until(() => controlClosed, 'the idle timeout to close the socket without KeepAlive');
    } finally {
      clearInterval(keepalive);
    }
    assert.equal(closedEarly, false);
    kept.close();
  });

  it('ASR closes on a control message that is not JSON', async () => {
    const ws = await wsOpen(listen(), { Authorization: `Token ${KEY}` }, up.ca);
    const code = await new Promise<number>((r) => { ws.once('close', (c) => r(c)); ws.send('{oops'); });
    assert.equal(code, 1008);
  });

  it('TTS streams base64 µ-law for a flushed text and closes after the inactivity timeout', async () => {
    const ws = await wsOpen(`${up.tts.url}/v1/text-to-speech/v/stream-input?output_format=ulaw_8000&inactivity_timeout=1`, { 'xi-api-key': KEY }, up.ca);
    const got = messages(ws);
    ws.send(JSON.stringify({ text: ' ' }));
    ws.send(JSON.stringify({ text: 'Good morning.', flush: true }));
    await until(() => got.length > 3, 'audio');
    const bytes = got.reduce((n, m) => n + (typeof m.audio === 'string' ? Buffer.from(m.audio, 'base64').length : 0), 0);
    assert.ok(bytes > 3000 && bytes < 16000, `~0.5–2 s of audio, got ${bytes} bytes`);
    const [code, reason] = await new Promise<[number, string]>((r) => ws.once('close', (c, why) => r([c, why.toString()])));
    assert.equal(code, 1008);
    assert.match(reason, /input_timeout_exceeded/);
  });

  it('TTS refuses a wrong key, and an output format it cannot make', async () => {
    await assert.rejects(wsOpen(`${up.tts.url}/v1/text-to-speech/v/stream-input?output_format=ulaw_8000`, { 'xi-api-key': 'x' }, up.ca), /HTTP 401/);
    await assert.rejects(wsOpen(`${up.tts.url}/v1/text-to-speech/v/stream-input?output_format=mp3_44100_128`, { 'xi-api-key': KEY }, up.ca), /HTTP 400/);
  });

  it('LLM streams OpenAI chunks ending in [DONE], and 400s a body that is not JSON', async () => {
    const s = h2connect(up.llm.url, { ca: up.ca });
    try {
      const post = (body: string) => new Promise<{ status: number; text: string }>((resolve, reject) => {
        const r = s.request({ ':method': 'POST', ':path': '/v1/chat/completions', authorization: `Bearer ${KEY}`, 'content-type': 'application/json' });
        let status = 0;
        let text = '';
        r.on('response', (h) => { status = Number(h[':status']); });
        r.setEncoding('utf8');
        r.on('data', (d: string) => { text += d; });
        r.on('end', () => resolve({ status, text }));
        r.on('error', reject);
        r.end(body);
      });
      const ok = await post(JSON.stringify({ model: 'x', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
      assert.equal(ok.status, 200);
      const lines = ok.text.split('\n\n').filter(Boolean);
      assert.equal(lines.at(-1), 'data: [DONE]');
      const first = JSON.parse(lines[0]!.slice(6)) as { object: string };
      assert.equal(first.object, 'chat.completion.chunk');
      const bad = await post('{nope');
      assert.equal(bad.status, 400);
      assert.match(JSON.parse(bad.text).error.message, /could not parse/);
    } finally { s.close(); }
  });

  it('a cold connection pays the handshake delay; pause refuses, resume serves, dropConnections kills', async () => {
    const slow = await startLocalUpstreams({ handshakeDelayMs: 150 });
    try {
      const port = Number(new URL(slow.crm.url).port);
      // Kept open until the end, so the server counts a handshake the client did not cut short.
      const clients: Array<{ destroy(): void }> = [];
      const handshake = () => new Promise<number>((resolve, reject) => {
        const t = Date.now();
        const s = tlsConnect({ host: '127.0.0.1', port, ca: slow.ca, servername: 'localhost', ALPNProtocols: ['h2'] }, () => resolve(Date.now() - t));
        clients.push(s);
        s.once('error', reject);
      });
      assert.ok((await handshake()) >= 140, 'handshake waited for the delay');
      await until(() => slow.crm.stats.handshakesCompleted === 1, 'the server to count the handshake');
      await slow.crm.pause();
      await assert.rejects(handshake(), /ECONNREFUSED/);
      await slow.crm.resume();
      assert.ok((await handshake()) >= 140);
      const s = h2connect(slow.crm.url, { ca: slow.ca });
      await new Promise<void>((r) => s.once('connect', () => r()));
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      slow.crm.dropConnections();
      await closed;
      assert.equal(slow.crm.stats.activeConnections, 0);
      for (const c of clients) c.destroy();
    } finally { await slow.close(); }
  });

  it('the process entry prints one JSON line with the URLs and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/local/main.ts', '--handshake-delay-ms', '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(out.split('\n')[0]!); });
      child.once('exit', (c) => reject(new Error(`exited ${c}`)));
    });
    const urls = JSON.parse(line) as Record<string, string>;
    assert.match(urls.asr!, /^wss:\/\/127\.0\.0\.1:\d+$/);
    assert.match(urls.llm!, /^https:\/\//);
    assert.ok(urls.caFile);
    const code = await new Promise<number | null>((r) => { child.once('exit', (c) => r(c)); child.kill('SIGTERM'); });
    assert.equal(code, 0);
  });
});
