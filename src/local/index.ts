import { makeCertificate } from './tls-certificate.js';
import { startAsrServer } from './asr-server.js';
import { startTtsServer } from './tts-server.js';
import { startLlmServer } from './llm-server.js';
import { startCrmServer } from './crm-server.js';
import { Synthesizer } from './synthesizer.js';
import { SphinxRecognizer, sphinxAvailability, type RecognizerChoice } from './sphinx.js';
import type { ChaosOptions } from './chaos.js';
import type { DelayedTlsListener, LocalServer } from './local-server.js';

export type { LocalServer, LocalServerStats, WireRecord } from './local-server.js';
export { Synthesizer } from './synthesizer.js';
export { sphinxAvailability, type RecognizerChoice } from './sphinx.js';
export { Chaos, type ChaosOptions, type ChaosCounts } from './chaos.js';

/**
 * Protocol-compatible local upstreams: Deepgram-style ASR, ElevenLabs-style
 * TTS, OpenAI/Anthropic-style LLM and a CRM, on real TLS sockets on loopback.
 * They share no protocol code with src/upstreams, so that a misreading of a
 * provider's documentation on either side shows up as a failing test.
 */
export interface LocalUpstreamsOptions {
  host?: string;
  ports?: { asr?: number; tts?: number; llm?: number; crm?: number };
  /** The one key the servers accept. Default 'local-dev-key'. */
  apiKey?: string;
  /** Added to every new TCP connection before the TLS handshake. Default 0. */
  handshakeDelayMs?: number;
  /** Added before the first byte of every response or generation. Default 0. */
  firstByteDelayMs?: number;
  /** ASR closes a socket with neither audio nor KeepAlive for this long. Default 10000. */
  asrIdleTimeoutMs?: number;
  /** TTS inactivity timeout when the client names none. Default 20000. */
  ttsInactivityTimeoutMs?: number;
  /** LLM token interval. Default 5. */
  llmTokenIntervalMs?: number;
  /** Concurrent ASR streams before upgrades get 429 (Deepgram's per-project cap). Default 50. */
  asrMaxStreams?: number;
  /** Open contexts per TTS multi-stream socket (ElevenLabs allows 5). Default 5. */
  ttsMaxContexts?: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS of the LLM and CRM servers. Default 100. */
  h2MaxConcurrentStreams?: number;
  /**
   * `auto`: the ASR transcribes words with Debian's pocketsphinx when it is
   * installed; `vad`: the voice-activity stand-in's labels ("[speech 1.24 s]").
   * Default `vad` here; the gateway's config (`local.asrRecognizer`) defaults to `auto`.
   */
  asrRecognizer?: RecognizerChoice;
  /** Provider chaos on all four servers (each `server.chaos.set()` changes one). Default: calm. */
  chaos?: ChaosOptions;
}

/** What the local ASR hears with: words, or the stand-in's labels and why. */
export type AsrRecognizerInfo = { kind: 'pocketsphinx'; bin: string } | { kind: 'stand-in'; reason: string };

export interface LocalUpstreams {
  readonly asr: LocalServer;
  readonly tts: LocalServer;
  readonly llm: LocalServer;
  readonly crm: LocalServer;
  readonly asrRecognizer: AsrRecognizerInfo;
  /** The TTS server's synthesizer (tests warm its cache). */
  readonly synthesizer: Synthesizer;
  /** PEM of the self-signed certificate: clients pass it as `ca`. */
  readonly ca: string;
  close(): Promise<void>;
}

export async function startLocalUpstreams(opts: LocalUpstreamsOptions = {}): Promise<LocalUpstreams> {
  const host = opts.host ?? '127.0.0.1';
  const certificate = await makeCertificate([host]);
  const common = {
    host,
    apiKey: opts.apiKey ?? 'local-dev-key',
    certificate,
    handshakeDelayMs: opts.handshakeDelayMs ?? 0,
    firstByteDelayMs: opts.firstByteDelayMs ?? 0,
  };
  const started: DelayedTlsListener[] = [];
  const synthesizer = new Synthesizer();
  const sphinx = (opts.asrRecognizer ?? 'vad') === 'auto' ? sphinxAvailability() : undefined;
  const recognizer = sphinx?.available ? new SphinxRecognizer({ bin: sphinx.bin }) : undefined;
  const asrRecognizer: AsrRecognizerInfo = sphinx?.available ? { kind: 'pocketsphinx', bin: sphinx.bin }
    : { kind: 'stand-in', reason: sphinx ? sphinx.reason : 'asrRecognizer is vad' };
  try {
    const asr = await startAsrServer({ ...common, port: opts.ports?.asr ?? 0, idleTimeoutMs: opts.asrIdleTimeoutMs ?? 10_000, recognizer, ...(opts.asrMaxStreams !== undefined && { maxStreams: opts.asrMaxStreams }) });
    started.push(asr);
    const tts = await startTtsServer({ ...common, port: opts.ports?.tts ?? 0, defaultInactivityTimeoutMs: opts.ttsInactivityTimeoutMs ?? 20_000, synthesizer, ...(opts.ttsMaxContexts !== undefined && { maxContexts: opts.ttsMaxContexts }) });
    started.push(tts);
    const h2 = opts.h2MaxConcurrentStreams !== undefined ? { maxConcurrentStreams: opts.h2MaxConcurrentStreams } : {};
    const llm = await startLlmServer({ ...common, ...h2, port: opts.ports?.llm ?? 0, ...(opts.llmTokenIntervalMs !== undefined && { tokenIntervalMs: opts.llmTokenIntervalMs }) });
    started.push(llm);
    const crm = await startCrmServer({ ...common, ...h2, port: opts.ports?.crm ?? 0 });
    started.push(crm);
    if (opts.chaos) for (const s of started) s.chaos.set(opts.chaos);
    return {
      asr, tts, llm, crm, synthesizer, asrRecognizer,
      ca: certificate.cert,
      close: async () => {
        recognizer?.close();
        await Promise.all(started.map((s) => s.close()));
      },
    };
  } catch (err) {
    recognizer?.close();
    await Promise.all(started.map((s) => s.close()));
    throw err;
  }
}
