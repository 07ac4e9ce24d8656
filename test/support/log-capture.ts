import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

/** A real pino logger (createLogger) writing into memory: every line as written, and parsed. */
export function capturedLogger(level: 'trace' | 'debug' | 'info' | 'warn' = 'info'): { log: Logger; text(): string; lines(): Record<string, unknown>[] } {
  let out = '';
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { out += chunk.toString(); cb(); } });
  const log = createLogger(level, sink);
  return {
    log,
    text: () => out,
    lines: () => out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
