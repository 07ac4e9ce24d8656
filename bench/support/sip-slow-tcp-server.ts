/**
 * A TCP transport in a process of its own, for bench:sip --slow-tcp: prints
 * `{"port":N}` when listening; on SIGUSR2 prints its open connections,
 * refusals by reason and memory. `--unguarded` turns the connection rules
 * off (no message deadline, the long idle timeout for everyone, no
 * per-source cap): the stack as it was before them.
 */
import { TcpTransport, UserAgent } from '../../sip/index.js';

const unguarded = process.argv.includes('--unguarded');
const tcp = await TcpTransport.bind('127.0.0.1', 0, unguarded ? { messageTimeoutMs: 0, unprovenIdleMs: 600_000, maxConnectionsPerSource: 1_000_000 } : {});
const ua = new UserAgent({ transport: tcp });
process.stdout.write(`${JSON.stringify({ port: tcp.local.port })}\n`);
process.on('SIGUSR2', () => {
  const m = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ open: tcp.connectionCount, rejections: tcp.stats.rejections, rss_mb: Math.round(m.rss / 104857.6) / 10, external_mb: Math.round(m.external / 104857.6) / 10 })}\n`);
});
process.on('SIGTERM', () => {
  ua.close().then(() => tcp.close()).then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`close failed: ${String(err)}\n`);
    process.exit(1);
  });
});
