import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface SlowTcpResult {
  guarded: boolean;
  connections: number;
  header_bytes_each: number;
  open_after_hold: number;
  rss_mb_parked: number;
  rss_mb_after_hold: number;
  rejections: Record<string, number>;
}

interface Snapshot { open: number; rejections: Record<string, number>; rss_mb: number }

/**
 * The slow-sender attack of issue 9: `count` connections from one address,
 * each parked with `bytes` of a header block that never ends. Reports how
 * many the stack still holds `holdS` seconds later and its RSS.
 */
export async function measureSlowTcp(o: { guarded: boolean; count: number; bytes: number; holdS: number }): Promise<SlowTcpResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./sip-slow-tcp-server.ts', import.meta.url)), ...(o.guarded ? [] : ['--unguarded'])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    lines.push(...d.toString().split('\n').filter(Boolean));
    for (const w of waiters.splice(0)) w();
  });
  const next = async (): Promise<string> => {
    while (lines.length === 0) await new Promise<void>((r) => waiters.push(r));
    return lines.shift()!;
  };
  const snapshot = async (): Promise<Snapshot> => {
    child.kill('SIGUSR2');
    return JSON.parse(await next()) as Snapshot;
  };
  const sockets: Socket[] = [];
  try {
    const { port } = JSON.parse(await next()) as { port: number };
    const header = `INVITE sip:warmline@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKslow\r\nX-Slow: ${'a'.repeat(o.bytes)}`;
    for (let i = 0; i < o.count; i++) {
      const s = connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      sockets.push(s);
      await once(s, 'connect');
      s.write(header);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const parked = await snapshot();
    await new Promise((r) => setTimeout(r, o.holdS * 1000));
    const after = await snapshot();
    return { guarded: o.guarded, connections: o.count, header_bytes_each: o.bytes, open_after_hold: after.open, rss_mb_parked: parked.rss_mb, rss_mb_after_hold: after.rss_mb, rejections: after.rejections };
  } finally {
    for (const s of sockets) s.destroy();
    child.kill('SIGTERM');
  }
}
