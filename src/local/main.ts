/**
 * The local upstreams as a process of their own, for benchmarks that run
 * them across an emulated network link (another network namespace):
 *   npx tsx src/local/main.ts [--host H] [--api-key K] [--handshake-delay-ms N]
 *     [--first-byte-delay-ms N] [--asr-idle-timeout-ms N] [--tts-inactivity-timeout-ms N]
 * Prints one JSON line {asr, tts, llm, crm, caFile} when listening; exits 0 on SIGTERM.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalUpstreams, type LocalUpstreams, type LocalUpstreamsOptions } from './index.js';

function parse(argv: string[]): LocalUpstreamsOptions {
  const o: LocalUpstreamsOptions = {};
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a number >= 0, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const v = argv[++i];
    switch (flag) {
      case '--host': o.host = v; break;
      case '--api-key': o.apiKey = v; break;
      case '--handshake-delay-ms': o.handshakeDelayMs = num(flag, v); break;
      case '--first-byte-delay-ms': o.firstByteDelayMs = num(flag, v); break;
      case '--asr-idle-timeout-ms': o.asrIdleTimeoutMs = num(flag, v); break;
      case '--tts-inactivity-timeout-ms': o.ttsInactivityTimeoutMs = num(flag, v); break;
      default: throw new Error(`unknown argument ${flag}`);
    }
  }
  return o;
}

let options: LocalUpstreamsOptions;
try {
  options = parse(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`local upstreams: ${(err as Error).message}\n`);
  process.exit(64);
}
// Handlers go in before anything is started, so a SIGTERM at any moment ends the process with 0 and no stray ports or files.
let up: LocalUpstreams | undefined;
let dir: string | undefined;
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  const closing = up ? up.close() : Promise.resolve();
  const done = () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  closing.then(done, (err: unknown) => {
    process.stderr.write(`local upstreams: closing failed: ${(err as Error).message}\n`);
    done();
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
up = await startLocalUpstreams(options);
if (stopping) {
  await up.close();
  process.exit(0);
}
dir = mkdtempSync(join(tmpdir(), 'warmline-local-'));
const caFile = join(dir, 'ca.pem');
writeFileSync(caFile, up.ca);
process.stdout.write(`${JSON.stringify({ asr: up.asr.url, tts: up.tts.url, llm: up.llm.url, crm: up.crm.url, caFile })}\n`);
