/**
 * ≥ 10,000 standing registrations against a private Kamailio registrar on
 * loopback, and the stack process's CPU while refreshes run.
 * Run alone: npx tsx bench/support/sip-registrations.ts --json
 */
import { pathToFileURL } from 'node:url';
import { UdpTransport, UserAgent } from '../../sip/index.js';
import { RegistrationPool } from '../../sip/registration/index.js';
import { Kamailio } from '../../test/support/kamailio.js';

export interface RegistrationBenchOptions { count?: number; expires?: number; measureMs?: number; startSpreadMs?: number }

export async function measureRegistrations(opts: RegistrationBenchOptions = {}): Promise<{ registrations: number; registration_refresh_cpu_core_fraction: number; rss_mb: number; refreshes_in_window: number; datagrams_sent_in_window: number; datagrams_received_in_window: number; measure_s: number }> {
  const count = opts.count ?? 10_000;
  const expires = opts.expires ?? 60;
  const measureMs = opts.measureMs ?? 60_000;
  const k = new Kamailio({ children: 4, maxExpires: 3600 });
  await k.start();
  const transport = await UdpTransport.bind('127.0.0.1', 0);
  const ua = new UserAgent({ transport, timers: { T1: 500, T2: 4000, T4: 5000 } });
  let sent = 0;
  const client = { contact: ua.contact, sendRequest: (q: Parameters<UserAgent['sendRequest']>[0], to: Parameters<UserAgent['sendRequest']>[1]) => { if (q.method === 'REGISTER') sent++; return ua.sendRequest(q, to); } };
  const pool = new RegistrationPool({ ua: client, keepaliveMs: 0, startSpreadMs: opts.startSpreadMs ?? 20_000, backoff: { baseMs: 2000, maxMs: 30_000 } });
  try {
    for (let i = 0; i < count; i++) {
      const user = `u${i}`;
      pool.add({ id: user, user, domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: k.port }, password: Kamailio.password(user), expires });
    }
    const end = Date.now() + 180_000;
    while (!pool.ready && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
    if (!pool.ready) throw new Error(`only ${pool.counts().registered}/${count} registered`);
    const sent0 = sent;
    const udp0 = { ...transport.stats };
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, measureMs));
    const c = process.cpuUsage(c0);
    const wall = performance.now() - t0;
    const registrations = pool.counts().registered;
    const udp = { sent: transport.stats.sent - udp0.sent, received: transport.stats.received - udp0.received };
    return {
      registrations,
      registration_refresh_cpu_core_fraction: Number(((c.user + c.system) / 1000 / wall).toFixed(4)),
      rss_mb: Math.round(process.memoryUsage().rss / 1048576),
      refreshes_in_window: sent - sent0,
      datagrams_sent_in_window: udp.sent,
      datagrams_received_in_window: udp.received,
      measure_s: Math.round(wall / 1000),
    };
  } finally {
    await pool.close().catch(() => undefined);
    await ua.close();
    await transport.close();
    await k.dispose();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await measureRegistrations();
  console.log(process.argv.includes('--json') ? JSON.stringify(r) : r);
}
