import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway } from '../../support/gateway.js';
import { Kamailio, freeUdpPort } from '../../support/kamailio.js';
import { until } from '../../support/wait.js';
import { Dnsmasq } from '../../support/dnsmasq.js';

export const SCENARIOS = fileURLToPath(new URL('./scenarios/', import.meta.url));
export const TRUNK_CFG = `${SCENARIOS}kamailio-trunk.cfg`;

/**
 * A carrier trunk on loopback: a real Kamailio that challenges every INVITE for proxy credentials
 * (user acme, password s3cret) and relays it to a sipp callee on `uasPort` (media on `mediaPort`).
 */
export interface Trunk {
  readonly kamailio: Kamailio;
  readonly registrar: { host: string; port: number };
  readonly uasPort: number;
  readonly mediaPort: number;
}

export async function startTrunk(): Promise<Trunk> {
  const uasPort = await freeUdpPort();
  const mediaPort = await freeUdpPort();
  const port = await freeUdpPort();
  const kamailio = new Kamailio({ port, script: { file: TRUNK_CFG, defines: { TRUNK_ADDR: `127.0.0.1:${port}`, UAS_URI: `"sip:127.0.0.1:${uasPort}"`, TRUNK_USER: '"acme"', TRUNK_PASS: '"s3cret"' } } });
  await kamailio.start();
  return { kamailio, registrar: { host: '127.0.0.1', port }, uasPort, mediaPort };
}

/** A `registrations` entry for the trunk (another id, or a wrong password, where a test needs one). */
/**
 * A real dnsmasq whose SRV records for `trunk.test` list `first` (priority 10: a target that
 * refuses, or never answers) and then the Kamailio trunk (20): the RFC 3263 failover rig of the
 * outbound and transfer tests. Started; the gateway's trunk proxy is `{ host: 'trunk.test' }`.
 */
export async function twoTargetDns(firstPort: number, t: Trunk): Promise<Dnsmasq> {
  const dns = new Dnsmasq({
    ttl: 60,
    srv: [`_sip._udp.trunk.test,first.trunk.test,${firstPort},10,0`, `_sip._udp.trunk.test,up.trunk.test,${t.registrar.port},20,0`],
    hosts: ['first.trunk.test,127.0.0.1', 'up.trunk.test,127.0.0.1'],
  });
  await dns.start();
  return dns;
}

export function trunkAccount(t: Trunk, id = 'acme', password = 's3cret') {
  return { id, user: 'acme', domain: 'trunk.test', registrar: t.registrar, password };
}

/** A trunk and a gateway that places calls through it: what every outbound suite sets up before its tests. */
export interface TrunkRig { readonly t: Trunk; readonly g: Gateway; readonly a: Api }

type GatewayConfig = Parameters<typeof startTestGateway>[0];

/**
 * Starts the trunk, then a gateway with `config(trunk)` on top of the outbound tests' common ground:
 * no RTP timeout (a silent callee waits for our greeting, which espeak on a loaded machine may take
 * seconds to synthesize, and no timeout must end the call meanwhile).
 */
export async function openTrunkRig(config: (t: Trunk) => Record<string, unknown>): Promise<TrunkRig> {
  const t = await startTrunk();
  try {
    const extra = config(t);
    const media = { rtpTimeoutMs: 0, ...(extra.media as Record<string, unknown> | undefined) };
    const g = await startTestGateway({ ...extra, media } as GatewayConfig);
    return { t, g, a: api(g.opsUrl) };
  } catch (err) {
    await t.kamailio.dispose();
    throw err;
  }
}

export async function closeTrunkRig(rig: Partial<TrunkRig> | undefined): Promise<void> {
  await rig?.g?.close();
  await rig?.t?.kamailio.dispose();
}

export interface Uas {
  done: Promise<{ code: number | null; out: string }>;
  stop(): void;
}

/** Whether something holds this UDP port on 127.0.0.1 (sipp bound it). */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => { try { s.close(); } catch { /* never bound */ } resolve(true); });
    s.bind(port, '127.0.0.1', () => { s.close(); resolve(false); });
  });
}

/**
 * A sipp callee (UAS) for `calls` calls on `port`, echoing the RTP it receives (-rtp_echo) from
 * `mediaPort`; resolves `done` with its exit code (0: the scenario ran to its end).
 */
export async function startUas(scenario: string, port: number, mediaPort: number, calls = 1): Promise<Uas> {
  const child = spawn('sipp', ['-sf', `${SCENARIOS}${scenario}`, '-i', '127.0.0.1', '-p', String(port), '-mp', String(mediaPort), '-rtp_echo', '-m', String(calls), '-nostdin', '-timeout', '40s', '-timeout_error'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-8000); });
  child.stderr!.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-8000); });
  const done = new Promise<{ code: number | null; out: string }>((resolve) => child.on('exit', (code) => resolve({ code, out })));
  await until(async () => child.exitCode !== null || (await portTaken(port)), 'sipp listening', 10_000);
  if (child.exitCode !== null) throw new Error(`sipp exited at once: ${out}`);
  return { done, stop: () => { if (child.exitCode === null) child.kill('SIGKILL'); } };
}

export interface Api {
  post(body: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  get(id: string): Promise<{ status: number; body: Record<string, unknown> }>;
  del(id: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Polls GET until `pred` holds for the view. */
  until(id: string, pred: (v: Record<string, unknown>) => boolean, what: string, ms?: number): Promise<Record<string, unknown>>;
  /** POSTs a dial (201 expected) and waits for it to end or be answered; asserts answered (`detail()` joins the failure message). */
  answered(body: unknown, what: string, detail?: () => string): Promise<{ id: string; view: Record<string, unknown> }>;
}

export function api(base: string): Api {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, { method, ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const a: Api = {
    post: (body) => call('POST', '/api/calls', body),
    get: (id) => call('GET', `/api/calls/${id}`),
    del: (id) => call('DELETE', `/api/calls/${id}`),
    until: async (id, pred, what, ms = 20_000) => {
      let last: Record<string, unknown> = {};
      try {
        await until(async () => pred((last = (await a.get(id)).body)), what, ms);
      } catch (err) {
        throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`);
      }
      return last;
    },
    answered: async (body, what, detail) => {
      const r = await a.post(body);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const id = r.body.id as string;
      const view = await a.until(id, (v) => v.state === 'answered' || v.state === 'ended', what);
      assert.equal(view.state, 'answered', `${JSON.stringify(view)}${detail ? `\n${detail()}` : ''}`);
      return { id, view };
    },
  };
  return a;
}
