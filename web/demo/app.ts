import { Inviter, SessionState, UserAgent, Web, type Session } from 'sip.js';

/** What POST /demo/session gives: short-lived digest credentials and where to call. */
interface DemoSession { username: string; password: string; expiresAt: string; wsUrl: string; target: string }
interface Turn { turn: number; text: string; marks: Partial<Record<'asrFinal' | 'llmFirstToken' | 'ttsFirstAudio' | 'firstRtpOut' | 'done', number>>; connectionsOpened: number; outcome: string }
interface CallView { state: string; media: string; codec?: string; turns: Turn[]; transcript: Array<{ from: 'caller' | 'agent'; text: string }>; endReason?: string }

/** Read by the browser tests; a person never needs it. */
interface DemoState {
  state: 'idle' | 'starting' | 'ringing' | 'connected' | 'ended' | 'error';
  error: string | undefined;
  callId: string | undefined;
  transport: string | undefined;
  dtlsState: string | undefined;
  srtpCipher: string | undefined;
  remoteEnergy: number;
  micLevel: number;
  view: CallView | undefined;
  dtmfSent: string;
  /** RTCInboundRtpStreamStats of the agent's audio, as last polled. */
  inbound: { packetsReceived: number; packetsLost: number; totalAudioEnergy: number } | undefined;
  /**
   * From the gateway's first RTP out to the caller's ear, as this browser measures it: half the
   * ICE round trip, the jitter buffer's mean delay and the audio device's mean playout delay.
   */
  toEarMs: number | undefined;
}
const state: DemoState = { state: 'idle', error: undefined, callId: undefined, transport: undefined, dtlsState: undefined, srtpCipher: undefined, remoteEnergy: 0, micLevel: 0, view: undefined, dtmfSent: '', inbound: undefined, toEarMs: undefined };
(window as unknown as { warmline: DemoState }).warmline = state;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const callButton = $<HTMLButtonElement>('call');
const audioEl = $<HTMLAudioElement>('agent-audio');

let ua: UserAgent | undefined;
let session: Session | undefined;
let creds: DemoSession | undefined;
let mic: MediaStream | undefined;
let timers: number[] = [];

function show(status: string, detail = ''): void {
  $('status').textContent = status;
  $('detail').textContent = detail;
}

/** A task the page starts without awaiting: its failure is shown or logged, never left unhandled. */
function run(task: Promise<unknown>, onError: (err: unknown) => void = (err) => console.error('warmline demo:', err)): void {
  task.catch(onError);
}

function fail(message: string): void {
  state.state = 'error';
  state.error = message;
  const m = $('message');
  m.textContent = message;
  m.classList.add('show');
  show('Not connected');
  run(teardown());
}

function clearMessage(): void {
  state.error = undefined;
  $('message').classList.remove('show');
}

async function getSession(): Promise<DemoSession | undefined> {
  let res: Response;
  try {
    res = await fetch('/demo/session', { method: 'POST' });
  } catch {
    fail('The gateway is unreachable. Is `npm start` still running?');
    return undefined;
  }
  if (res.status === 503) return void fail('The demo is at capacity: every demo line is busy. Try again in a minute.');
  if (res.status === 429) return void fail(`Too many calls from this address; try again in ${res.headers.get('retry-after') ?? 60} s.`);
  if (!res.ok) return void fail(`The gateway refused a demo session (HTTP ${res.status}).`);
  return (await res.json()) as DemoSession;
}

async function call(): Promise<void> {
  clearMessage();
  state.state = 'starting';
  callButton.disabled = true;
  show('Starting…', 'Asking for the microphone');
  // Plain HTTP beyond loopback: the browser hides mediaDevices altogether, so say why instead of a TypeError.
  if (!window.isSecureContext || !navigator.mediaDevices) {
    fail(`The microphone needs a secure page: open the demo over https:// (the gateway's server.certFile and server.keyFile), or at http://127.0.0.1:${location.port || '80'} on the gateway's own machine.`);
    return;
  }
  try {
    mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true }, video: false });
  } catch (err) {
    const name = err instanceof DOMException ? err.name : '';
    fail(name === 'NotAllowedError' || name === 'SecurityError'
      ? 'Microphone access was denied. Allow the microphone for this page (the icon in the address bar) and press Call again.'
      : `No microphone could be opened (${name || String(err)}).`);
    return;
  }
  meter(mic, 'mic', (rms) => { state.micLevel = rms; });
  show('Starting…', 'Getting demo credentials');
  creds = await getSession();
  if (!creds) return;
  ua = new UserAgent({
    uri: UserAgent.makeURI(`sip:${creds.username || 'anonymous'}@warmline.invalid`),
    transportOptions: { server: creds.wsUrl, connectionTimeout: 5 },
    ...(creds.username && { authorizationUsername: creds.username, authorizationPassword: creds.password }),
    logBuiltinEnabled: false,
    sessionDescriptionHandlerFactory: Web.defaultSessionDescriptionHandlerFactory(async () => mic!),
    sessionDescriptionHandlerFactoryOptions: { iceGatheringTimeout: 1000, peerConnectionConfiguration: { iceServers: [] } },
  });
  try {
    await ua.start();
  } catch {
    fail(`The gateway is unreachable: no SIP WebSocket at ${creds.wsUrl}.`);
    return;
  }
  state.transport = creds.wsUrl.startsWith('wss:') ? 'WSS' : 'WS';
  const target = UserAgent.makeURI(creds.target)!;
  const inviter = new Inviter(ua, target, { sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } });
  session = inviter;
  state.callId = inviter.request.callId;
  inviter.stateChange.addListener((s) => onSessionState(s));
  show('Calling…', creds.target);
  state.state = 'ringing';
  callButton.disabled = false;
  callButton.textContent = 'Hang up';
  callButton.classList.add('hangup');
  try {
    await inviter.invite({
      requestDelegate: {
        onReject: (res) => {
          const code = res.message.statusCode;
          const reason = res.message.reasonPhrase;
          if (code === 486) fail('The demo is at capacity: every demo line is busy. Try again in a minute.');
          else if (code === 401 || code === 403 || code === 407) fail(`The gateway refused the call (${code} ${reason}): the demo credentials were missing or expired. Reload the page.`);
          else fail(`The gateway refused the call (${code} ${reason}).`);
        },
      },
    });
  } catch (err) {
    fail(`The call could not be placed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function onSessionState(s: SessionState): void {
  if (s === SessionState.Established) {
    state.state = 'connected';
    show('Connected', 'Talk to the agent. Digits on the keypad go as DTMF.');
    const sdh = session!.sessionDescriptionHandler as Web.SessionDescriptionHandler;
    audioEl.srcObject = sdh.remoteMediaStream;
    void audioEl.play().catch(() => undefined);
    // Energy of what actually arrived and decoded (RMS² × seconds): the tests' proof the greeting was heard.
    meter(sdh.remoteMediaStream, 'remote', (rms, dt) => { state.remoteEnergy += rms * rms * dt; });
    timers.push(window.setInterval(() => run(pollStats(sdh.peerConnection)), 250));
    timers.push(window.setInterval(() => run(pollCall()), 400));
  } else if (s === SessionState.Terminated) {
    if (state.state !== 'error') {
      state.state = 'ended';
      show('Call ended', 'Press Call to talk again.');
    }
    run(pollCall().finally(() => run(teardown())));
  }
}

/** DTLS and SRTP as the browser sees them, and how much agent audio arrived (RTCStats audio energy). */
async function pollStats(pc: RTCPeerConnection | undefined): Promise<void> {
  if (!pc) return;
  const stats = await pc.getStats();
  let jitterMs: number | undefined;
  let oneWayMs = 0;
  let playoutMs = 0;
  stats.forEach((r: Record<string, unknown>) => {
    if (r.type === 'transport') {
      state.dtlsState = r.dtlsState as string;
      state.srtpCipher = r.srtpCipher as string;
    }
    if (r.type === 'inbound-rtp' && r.kind === 'audio') {
      state.inbound = { packetsReceived: r.packetsReceived as number, packetsLost: r.packetsLost as number, totalAudioEnergy: r.totalAudioEnergy as number };
      const emitted = r.jitterBufferEmittedCount as number | undefined;
      if (emitted) jitterMs = ((r.jitterBufferDelay as number) / emitted) * 1000;
    }
    if (r.type === 'candidate-pair' && r.nominated && typeof r.currentRoundTripTime === 'number') oneWayMs = (r.currentRoundTripTime * 1000) / 2;
    if (r.type === 'media-playout' && (r.totalSamplesCount as number) > 0) playoutMs = ((r.totalPlayoutDelay as number) / (r.totalSamplesCount as number)) * 1000;
  });
  if (jitterMs !== undefined) state.toEarMs = oneWayMs + jitterMs + playoutMs;
  if (state.dtlsState) $('detail').textContent = `DTLS ${state.dtlsState}, SRTP ${state.srtpCipher ?? '?'}, over ${state.transport}`;
}

async function pollCall(): Promise<void> {
  if (!state.callId || !creds) return;
  const res = await fetch(`/demo/call/${encodeURIComponent(state.callId)}?user=${encodeURIComponent(creds.username)}`).catch(() => undefined);
  if (!res?.ok) return;
  state.view = (await res.json()) as CallView;
  render(state.view);
}

function render(v: CallView): void {
  const list = $('transcript');
  list.replaceChildren(...v.transcript.map((t) => {
    const li = document.createElement('li');
    li.className = t.from;
    li.innerHTML = `<small>${t.from === 'caller' ? 'You' : 'Agent'}</small>`;
    li.append(t.text);
    return li;
  }));
  list.scrollTop = list.scrollHeight;
  const speech = v.turns.filter((t) => t.text !== 'greeting');
  const scale = Math.max(1000, ...speech.map((t) => (t.marks.firstRtpOut ?? t.marks.done ?? 0) + (state.toEarMs ?? 0)));
  $('turns').replaceChildren(...speech.map((t) => turnBar(t, scale)));
}

/**
 * One turn: end of speech → ASR final → LLM first token → TTS first audio → first audio out of the
 * gateway (all measured there, from the end of speech) → first audio played here (that plus this
 * browser's own measure of network, jitter buffer and playout delay).
 */
function turnBar(t: Turn, scale: number): HTMLElement {
  const el = document.createElement('div');
  el.className = 'turn';
  el.dataset.turn = String(t.turn);
  const m = t.marks;
  const played = m.firstRtpOut !== undefined && state.toEarMs !== undefined ? m.firstRtpOut + state.toEarMs : undefined;
  const points: Array<[string, number | undefined]> = [['asr', m.asrFinal], ['llm', m.llmFirstToken], ['tts', m.ttsFirstAudio], ['out', m.firstRtpOut], ['played', played]];
  const label = document.createElement('div');
  label.className = 'label';
  const total = played ?? m.firstRtpOut;
  label.innerHTML = `<span></span><span>${total === undefined ? t.outcome : `${Math.round(total)} ms`} · connections opened in turn: <b class="opened">${t.connectionsOpened}</b></span>`;
  label.firstElementChild!.textContent = `#${t.turn} “${t.text}”`;
  const bar = document.createElement('div');
  bar.className = 'bar';
  let prev = 0;
  for (const [name, at] of points) {
    if (at === undefined) continue;
    const seg = document.createElement('span');
    seg.className = `seg-${name}`;
    seg.style.width = `${(Math.max(0, at - prev) / scale) * 100}%`;
    seg.title = `${name}: ${Math.round(at)} ms`;
    bar.append(seg);
    prev = at;
  }
  el.append(label, bar);
  return el;
}

function setMeter(id: string, level: number): void {
  $(id).style.width = `${Math.min(100, Math.round(level * 100))}%`;
}

function meter(stream: MediaStream, id: string, onLevel: (rms: number, dt: number) => void): void {
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let last = performance.now();
  const tick = () => {
    if (!mic) {
      run(ctx.close());
      return;
    }
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const x of buf) sum += x * x;
    const rms = Math.sqrt(sum / buf.length);
    const now = performance.now();
    onLevel(rms, (now - last) / 1000);
    last = now;
    setMeter(id, Math.min(1, rms * 4));
    // Not requestAnimationFrame: a background tab (or a headless one) would stop measuring.
    setTimeout(tick, 50);
  };
  tick();
}

function sendDigit(d: string): void {
  if (state.state !== 'connected' || !session) return;
  const sdh = session.sessionDescriptionHandler as Web.SessionDescriptionHandler;
  // RTCDTMFSender: RFC 4733 telephone-events in the media, not SIP INFO.
  if (sdh.sendDtmf(d, { duration: 160, interToneGap: 70 })) state.dtmfSent += d;
}

async function hangup(): Promise<void> {
  const s = session;
  if (!s) return;
  if (s.state === SessionState.Established) await s.bye().catch(() => undefined);
  else if (s instanceof Inviter && (s.state === SessionState.Initial || s.state === SessionState.Establishing)) await s.cancel().catch(() => undefined);
}

async function teardown(): Promise<void> {
  for (const t of timers) clearInterval(t);
  timers = [];
  mic?.getTracks().forEach((t) => t.stop());
  mic = undefined;
  setMeter('mic', 0);
  setMeter('remote', 0);
  session = undefined;
  const u = ua;
  ua = undefined;
  await u?.stop().catch(() => undefined);
  callButton.disabled = false;
  callButton.textContent = 'Call';
  callButton.classList.remove('hangup');
}

callButton.addEventListener('click', () => {
  if (session || state.state === 'starting') run(hangup());
  else run(call(), (err) => fail(`The call could not start: ${err instanceof Error ? err.message : String(err)}`));
});
const keypad = $('keypad');
for (const d of '123456789*0#') {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = d;
  b.addEventListener('click', () => sendDigit(d));
  keypad.append(b);
}
document.addEventListener('keydown', (e) => {
  if (/^[0-9*#]$/.test(e.key)) sendDigit(e.key);
});
