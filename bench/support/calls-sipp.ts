// bench:calls' carrier side: sipp placing the calls (UAC, inbound to the gateway) or, for the
// outbound mode, answering them (UAS). The scenario is written out with the caller's audio file.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SippResult {
  code: number | null;
  successful: number;
  failed: number;
  /** sipp's own cumulative call rate (calls started per second over the run). */
  rate: number;
  wallMs: number;
  out: string;
}

/** 0.6 s of a 440 Hz tone as a µ-law WAV (format 7): what the caller says. */
export function writeCallerAudio(dir: string, seconds = 0.6): string {
  const n = Math.round(8000 * seconds);
  const data = Buffer.alloc(n);
  for (let i = 0; i < n; i++) data[i] = linearToUlaw(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
  const fmt = Buffer.alloc(18 + 8);
  fmt.write('fmt ', 0);
  fmt.writeUInt32LE(18, 4);
  fmt.writeUInt16LE(7, 8); // µ-law
  fmt.writeUInt16LE(1, 10);
  fmt.writeUInt32LE(8000, 12);
  fmt.writeUInt32LE(8000, 16);
  fmt.writeUInt16LE(1, 20);
  fmt.writeUInt16LE(8, 22);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0);
  head.writeUInt32LE(4 + fmt.length + 8 + n, 4);
  head.write('WAVE', 8);
  const dataHead = Buffer.alloc(8);
  dataHead.write('data', 0);
  dataHead.writeUInt32LE(n, 4);
  const file = join(dir, 'caller.wav');
  writeFileSync(file, Buffer.concat([head, fmt, dataHead, data]));
  return file;
}

function linearToUlaw(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  let s = Math.min(Math.abs(sample), 32635) + 0x84;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mantissa = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mantissa) & 0xff;
}

export function writeScenario(dir: string, audio: string, side: 'uac' | 'uas' = 'uac'): string {
  const xml = readFileSync(new URL(`../calls-${side}.xml`, import.meta.url), 'utf8').replace('rtp_stream="__AUDIO__', `rtp_stream="${audio}`);
  const file = join(dir, `calls-${side}.xml`);
  writeFileSync(file, xml);
  return file;
}

/**
 * sipp places `calls` calls at `rate` per second, each holding `holdMs` after the ACK.
 * `cpus`: taskset -c for sipp (the core the gateway does not have).
 */
export function placeCalls(target: { address: string; port: number }, o: { scenario: string; rate: number; calls: number; holdMs: number; cpus: string | undefined }): Promise<SippResult> {
  const limit = Math.max(50, Math.ceil(o.rate * (o.holdMs / 1000 + 1) * 2));
  const args = [`${target.address}:${target.port}`, '-sf', o.scenario, '-s', '15550001000', '-i', '127.0.0.1', '-p', '0', '-mp', '0', '-nostdin',
    '-r', String(o.rate), '-m', String(o.calls), '-l', String(limit), '-d', String(o.holdMs),
    '-recv_timeout', '10000', '-timeout', `${Math.ceil(o.calls / o.rate + o.holdMs / 1000 + 60)}s`, '-timeout_error', '-max_socket', '10000'];
  const child = o.cpus ? spawn('taskset', ['-c', o.cpus, 'sipp', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('sipp', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-30_000); });
  child.stderr.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-30_000); });
  const t0 = performance.now();
  return new Promise((resolve) => child.on('exit', (code) => {
    const cum = (label: string) => Number(new RegExp(`${label}\\s*\\|\\s*[\\d.]+\\s*(?:cps)?\\s*\\|\\s*([\\d.]+)`).exec(out)?.[1] ?? NaN);
    const successful = cum('Successful call');
    const failed = cum('Failed call');
    resolve({ code, successful: successful || 0, failed: Number.isNaN(failed) ? o.calls : failed, rate: cum('Call Rate'), wallMs: performance.now() - t0, out });
  }));
}

/**
 * sipp answers `calls` calls on `port` (the gateway's trunk proxy), each callee holding `holdMs`
 * after its audio and hanging up; resolves when all are done (or sipp's timeout ends it).
 */
export function answerCalls(port: number, o: { scenario: string; rate: number; calls: number; holdMs: number; cpus: string | undefined }): { done: Promise<SippResult>; kill(): void } {
  const args = ['-sf', o.scenario, '-i', '127.0.0.1', '-p', String(port), '-mp', '0', '-nostdin', '-m', String(o.calls), '-d', String(o.holdMs),
    '-recv_timeout', '10000', '-timeout', `${Math.ceil(o.calls / o.rate + o.holdMs / 1000 + 90)}s`, '-timeout_error', '-max_socket', '10000'];
  const child = o.cpus ? spawn('taskset', ['-c', o.cpus, 'sipp', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('sipp', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-30_000); });
  child.stderr.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-30_000); });
  const t0 = performance.now();
  const done = new Promise<SippResult>((resolve) => child.on('exit', (code) => {
    const cum = (label: string) => Number(new RegExp(`${label}\\s*\\|\\s*[\\d.]+\\s*(?:cps)?\\s*\\|\\s*([\\d.]+)`).exec(out)?.[1] ?? NaN);
    const successful = cum('Successful call');
    const failed = cum('Failed call');
    resolve({ code, successful: successful || 0, failed: Number.isNaN(failed) ? o.calls : failed, rate: cum('Call Rate'), wallMs: performance.now() - t0, out });
  }));
  return { done, kill: () => { if (child.exitCode === null) child.kill('SIGKILL'); } };
}
