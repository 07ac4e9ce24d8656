// bench:flood — hostile traffic against one gateway process (npm start's CLI) on loopback, while a
// carrier places real calls through it:
//   1. INVITE floods from sipp at --rate INVITEs/s in total (default 10,000: 10× bench:sip's
//      1,000 calls/s) from --sources loopback addresses (127.0.0.10…), none of them a carrier,
//      for --seconds; the carrier (127.0.0.2) places --calls calls at the same time;
//   2. slow and endless header blocks on TCP (SIP) and on the WebSocket port (HTTP upgrade),
//      --conns connections each, for --hostile-seconds.
// Reported: the carrier's success rate during the flood, what the flooders were answered (403 from
// the carrier check, 503 from the per-source rate limit) or not, hostile connections the gateway
// closed, the gateway's RSS before, at peak and after --settle seconds, and whether it is alive.
// With --via-balancer the floods and the carrier's calls go through Kamailio running
// config/kamailio/dispatcher.cfg (carrier ACL and pike) in front of the gateway, as deployed
// (--lb-script <file>: another script, for a before/after comparison; --replicas N behind it); --carrier-port sends the
// carrier to the balancer's own carrier socket (CARRIER_ADDR); --kernel-acl also puts
// config/kamailio/nftables-edge.nft in front, the bench re-running itself in a network namespace
// of its own. Reported besides: Kamailio's CPU seconds and the drops on each of its sockets.
//   npm run bench:flood -- [--rate 10000] [--sources 10] [--seconds 10] [--calls 20] [--conns 200] [--via-balancer] [--replicas 1] [--carrier-port] [--kernel-acl] [--lb-script <file>] [--json]
// WL_FLOOD_DEBUG=<path prefix> keeps the carrier's sipp errors, Kamailio's and the gateway's logs.
// Every loop is bounded by its deadline; loopback only (or a namespace's own, with --kernel-acl).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kamailio, freeUdpPort } from '../test/support/kamailio.js';
import { freeTcpPort } from '../test/support/redis-server.js';
import { startReplica } from '../test/support/replica.js';
import { carrierCalls, edgeCounters, hostileStreams, loadEdgeRuleset, rssMb, rssSampler, sippFlood, udpRcvbufErrors } from './flood-tools.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`--${name} must be a positive number`);
  return v;
};
const rate = arg('rate', 10_000);
const sources = Math.min(arg('sources', 10), 80);
const seconds = Math.min(arg('seconds', 10), 120);
const calls = arg('calls', 20);
const conns = Math.min(arg('conns', 200), 2000);
const hostileSeconds = Math.min(arg('hostile-seconds', 10), 120);
const settle = Math.min(arg('settle', 10), 120);
const json = process.argv.includes('--json');
const replicaCount = Math.min(arg('replicas', 1), 4);
// config/kamailio/nftables-edge.nft in front of the balancer: the whole bench re-runs itself in a
// network namespace of its own (its loopback, its nftables), so the host's tables are never touched.
const kernelAcl = process.argv.includes('--kernel-acl');
if (kernelAcl && !process.env.WL_FLOOD_NETNS) {
  const ns = `wl-flood-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, WL_FLOOD_NETNS: ns } });
    process.exitCode = r.status ?? 1;
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
  process.exit();
}
const viaBalancer = process.argv.includes('--via-balancer') || process.argv.includes('--carrier-port') || process.argv.includes('--kernel-acl');
// The carrier calls the balancer's own carrier socket (CARRIER_ADDR), the flood the public one.
const carrierPort = process.argv.includes('--carrier-port');
const strArg = (name: string): string | undefined => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : undefined; };
// Another Kamailio script than the repository's (a before/after comparison in one sitting).
const lbScript = strArg('lb-script') ?? fileURLToPath(new URL('../config/kamailio/dispatcher.cfg', import.meta.url));
const CARRIER = '127.0.0.2';

/**
 * The UDP socket bound to `port` as `ss` sees it: SO_RCVBUF granted (`rb`, bytes) and datagrams the
 * kernel dropped on that socket alone (`d`), unlike /proc/net/snmp's counter for the whole system.
 */
/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of a whole process group (Kamailio forks its workers into the group of its main process). */
function groupCpuSeconds(pgid: number): number {
  let total = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid) total += (Number(f[11]) + Number(f[12])) / 100;
    } catch { /* exited meanwhile */ }
  }
  return total;
}

function udpSocket(port: number): { rcvbufBytes: number; drops: number } | undefined {
  try {
    const out = execFileSync('ss', ['-lumn', `sport = :${port}`], { encoding: 'utf8' });
    const m = /rb(\d+),.*?d(\d+)\)/.exec(out);
    return m ? { rcvbufBytes: Number(m[1]), drops: Number(m[2]) } : undefined;
  } catch {
    return undefined;
  }
}

const wsPort = await freeTcpPort();
// The SIP port is free for UDP when picked; the replica also listens for TCP on it, which another
// process may hold: a few tries.
const startGateway = async (tries: number, env: Record<string, string> = {}): Promise<Awaited<ReturnType<typeof startReplica>>> => {
  try {
    return await startReplica({
      WARMLINE_SIP__PORT: String(await freeUdpPort()),
      WARMLINE_SIP__CARRIERS: `["${CARRIER}"]`,
      ...(viaBalancer && { WARMLINE_SIP__BALANCERS: '["127.0.0.1"]' }),
      WARMLINE_SIP__WS__ENABLED: 'true', WARMLINE_SIP__WS__PORT: String(wsPort),
      WARMLINE_MEDIA__PORTMIN: '44000', WARMLINE_MEDIA__PORTMAX: '44999',
      WARMLINE_LOG__LEVEL: 'error',
      ...env,
    });
  } catch (e) {
    if (tries <= 1 || !/EADDRINUSE/.test(String(e))) throw e;
    return startGateway(tries - 1, env);
  }
};
const gw = await startGateway(3);
// --replicas N behind the balancer (as deployed): the others without WS, each its own media ports.
const others = [];
for (let i = 1; i < (viaBalancer ? replicaCount : 1); i++) {
  others.push(await startGateway(3, { WARMLINE_SIP__WS__ENABLED: 'false', WARMLINE_MEDIA__PORTMIN: String(44000 - 1000 * i), WARMLINE_MEDIA__PORTMAX: String(44999 - 1000 * i) }));
}
// The gateway logs (pino) on stdout: kept for the debug dump only.
let gwLog = '';
if (process.env.WL_FLOOD_DEBUG) gw.child.stdout!.on('data', (d: Buffer) => { gwLog = (gwLog + d.toString()).slice(-200_000); });
const pid = gw.child.pid!;
const dir = mkdtempSync(join(tmpdir(), 'wl-flood-'));
let lb: Kamailio | undefined;
let sipTarget = gw.sip;
let carrierTarget = gw.sip;
let internalPort = 0;
if (viaBalancer) {
  writeFileSync(join(dir, 'dispatcher.list'), [gw, ...others].map((g) => `1 sip:${g.sip.address}:${g.sip.port};transport=udp 0 0\n`).join(''));
  // 127.0.0.1: the harness's readiness ping. pike as shipped (300 requests per 2 s per source).
  writeFileSync(join(dir, 'carriers.list'), `1 ${CARRIER} 32 0 carrier\n1 127.0.0.1 32 0 harness\n`);
  const port = await freeUdpPort();
  internalPort = await freeUdpPort();
  const carrierSocket = carrierPort ? await freeUdpPort() : 0;
  lb = new Kamailio({ port, script: { file: lbScript, defines: {
    LB_ADDR: `127.0.0.1:${port}`, INTERNAL_ADDR: `127.0.0.1:${internalPort}`, DS_LIST: `"${join(dir, 'dispatcher.list')}"`, CARRIERS_LIST: `"${join(dir, 'carriers.list')}"`, PROBE_S: '1',
    ...(carrierPort && { CARRIER_ADDR: `127.0.0.1:${carrierSocket}` }),
  } } });
  await lb.start();
  // The harness's readiness ping comes from 127.0.0.1; the replica side (INTERNAL_ADDR) is not a SIP port of the ruleset.
  if (kernelAcl) loadEdgeRuleset({ ports: [port, ...(carrierPort ? [carrierSocket] : [])], carriers: [CARRIER, '127.0.0.1'] });
  sipTarget = { address: '127.0.0.1', port };
  carrierTarget = { address: '127.0.0.1', port: carrierPort ? carrierSocket : port };
}
const alive = async () => gw.child.exitCode === null && (await fetch(`${gw.url}/healthz`).then((r) => r.ok, () => false));
try {
  const rssBefore = rssMb(pid);
  const sampler = rssSampler(pid);
  const started = Date.now();
  const dropsBefore = udpRcvbufErrors();
  const gwSocketBefore = udpSocket(gw.sip.port);
  const cpuBefore = cpuSeconds(pid);
  const othersCpuBefore = others.map((g) => cpuSeconds(g.child.pid!));
  const lbSocketBefore = lb ? udpSocket(sipTarget.port) : undefined;
  const lbInternalBefore = lb ? udpSocket(internalPort) : undefined;
  const lbCpuBefore = lb ? groupCpuSeconds(lb.proc!.pid!) : 0;
  const load = loadavg().map((x) => Number(x.toFixed(2)));
  // The carrier starts a moment into the flood, so its calls meet the flood at full rate.
  const [flood, carrier] = await Promise.all([
    sippFlood(sipTarget, { sources, rate, seconds }),
    new Promise((r) => setTimeout(r, 1000)).then(() => carrierCalls(carrierTarget, CARRIER, calls, Math.max(1, Math.round(calls / Math.max(1, seconds - 2))))),
  ]);
  const floodWall = (Date.now() - started) / 1000;
  const udpDrops = udpRcvbufErrors() - dropsBefore;
  const gwSocketAfter = udpSocket(gw.sip.port);
  // What the flood cost the gateway: CPU seconds during it (the datagrams it read, parsed or dropped early, and answered).
  const gatewayCpuSeconds = Number((cpuSeconds(pid) - cpuBefore).toFixed(2));
  const otherReplicasCpuSeconds = others.map((g, i) => Number((cpuSeconds(g.child.pid!) - othersCpuBefore[i]!).toFixed(2)));
  const lbSocketAfter = lb ? udpSocket(sipTarget.port) : undefined;
  const lbInternalAfter = lb ? udpSocket(internalPort) : undefined;
  const balancerCpuSeconds = lb ? Number((groupCpuSeconds(lb.proc!.pid!) - lbCpuBefore).toFixed(2)) : undefined;
  const socketFigures = (b: typeof gwSocketBefore, a: typeof gwSocketAfter) => (b && a ? { rcvbufBytes: a.rcvbufBytes, drops: a.drops - b.drops } : undefined);
  const gatewaySocket = socketFigures(gwSocketBefore, gwSocketAfter);
  const balancerSocket = socketFigures(lbSocketBefore, lbSocketAfter);
  const balancerInternalSocket = socketFigures(lbInternalBefore, lbInternalAfter);
  const kernelEdgeDrops = kernelAcl ? edgeCounters() : undefined;
  const aliveAfterFlood = await alive();
  const tcpSlow = await hostileStreams(gw.sip, { count: conns, mode: 'slow', seconds: hostileSeconds });
  const tcpEndless = await hostileStreams(gw.sip, { count: conns, mode: 'endless', seconds: hostileSeconds });
  const wsSlow = await hostileStreams({ address: '127.0.0.1', port: wsPort }, { count: conns, mode: 'slow', seconds: hostileSeconds, ws: true });
  const wsEndless = await hostileStreams({ address: '127.0.0.1', port: wsPort }, { count: conns, mode: 'endless', seconds: hostileSeconds, ws: true });
  const { peakMb } = sampler.stop();
  const carrierAfter = await carrierCalls(carrierTarget, CARRIER, 5, 5);
  await new Promise((r) => setTimeout(r, settle * 1000));
  const rssAfter = rssMb(pid);
  const out = {
    bench: 'flood', viaBalancer, replicas: 1 + others.length, carrierPort, kernelAcl, lbScript: lb ? lbScript : undefined, loadAverage: load, rate, sources, seconds, floodWallSeconds: floodWall,
    flood: { sent: flood.sent, answered: flood.answered, unanswered: flood.unanswered, responses: flood.responses, kernelUdpReceiveDrops: udpDrops, gatewaySocket, balancerSocket, balancerInternalSocket, kernelEdgeDrops, gatewayCpuSeconds, otherReplicasCpuSeconds, balancerCpuSeconds },
    carrier: { placed: calls, succeeded: carrier.successful || 0, failed: carrier.failed || 0, successRate: (carrier.successful || 0) / calls, responses: carrier.responses },
    carrierAfterHostile: { placed: 5, succeeded: carrierAfter.successful || 0 },
    hostile: { tcpSlow, tcpEndless, wsSlow, wsEndless, seconds: hostileSeconds },
    rssMb: { before: Math.round(rssBefore), peak: Math.round(peakMb), afterSettle: Math.round(rssAfter), settleSeconds: settle },
    alive: aliveAfterFlood && (await alive()),
  };
  console.log('what                              figure');
  console.log(`path                              ${viaBalancer ? `through Kamailio (ACL, pike) to the gateway${carrierPort ? ', the carrier on its own socket' : ''}${kernelAcl ? ', nftables-edge.nft in front' : ''}` : 'straight to the gateway'}`);
  console.log(`load average at the start         ${load.join(' ')}`);
  console.log(`flood INVITEs sent                ${flood.sent} from ${sources} sources in ${floodWall.toFixed(1)} s (target ${rate}/s)`);
  console.log(`flood answered / unanswered       ${flood.answered} / ${flood.unanswered}   responses ${JSON.stringify(flood.responses)}`);
  console.log(`kernel UDP receive-buffer drops  ${udpDrops} (system-wide, during the flood)`);
  console.log(`gateway CPU during the flood      ${gatewayCpuSeconds} s${others.length ? ` (the other replicas: ${otherReplicasCpuSeconds.join(', ')} s)` : ''}`);
  if (gatewaySocket) console.log(`gateway UDP socket                SO_RCVBUF ${gatewaySocket.rcvbufBytes} B, ${gatewaySocket.drops} datagrams dropped on it`);
  if (balancerSocket) console.log(`balancer UDP socket               SO_RCVBUF ${balancerSocket.rcvbufBytes} B, ${balancerSocket.drops} datagrams dropped on it`);
  if (balancerInternalSocket) console.log(`balancer's replica-side socket    ${balancerInternalSocket.drops} datagrams dropped on it`);
  if (kernelEdgeDrops) console.log(`dropped in the kernel (nftables)  ${JSON.stringify(kernelEdgeDrops)}`);
  if (balancerCpuSeconds !== undefined) console.log(`balancer CPU during the flood     ${balancerCpuSeconds} s (all Kamailio processes)`);
  console.log(`carrier calls during the flood    ${out.carrier.succeeded}/${calls} succeeded (${(out.carrier.successRate * 100).toFixed(1)} %)`);
  console.log(`carrier calls after hostile TCP   ${out.carrierAfterHostile.succeeded}/5`);
  for (const [k, v] of Object.entries(out.hostile)) if (typeof v === 'object') console.log(`${k.padEnd(34)}${v.closedByPeer}/${v.opened} closed by the gateway, ${v.stillOpen} still open after ${hostileSeconds} s, ${(v.bytesSent / 1e6).toFixed(1)} MB sent`);
  console.log(`gateway RSS (MB)                  before ${out.rssMb.before}, peak ${out.rssMb.peak}, ${settle} s after ${out.rssMb.afterSettle}`);
  console.log(`gateway alive                     ${out.alive}`);
  if (process.env.WL_FLOOD_DEBUG) { writeFileSync(`${process.env.WL_FLOOD_DEBUG}-carrier.txt`, carrier.out); writeFileSync(`${process.env.WL_FLOOD_DEBUG}-lb.txt`, lb?.log ?? ''); writeFileSync(`${process.env.WL_FLOOD_DEBUG}-gw.txt`, `${gw.stderr()}\n${gwLog}`); }
  if (json) console.log(JSON.stringify(out));
  process.exitCode = out.alive ? 0 : 1;
} finally {
  gw.kill();
  for (const g of others) g.kill();
  await lb?.dispose();
  rmSync(dir, { recursive: true, force: true });
}
