import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * What this process's open file descriptors are, by kind: a soak's fd growth
 * is only a leak if it grows with the calls; a lazily opened resource (an
 * epoll fd, an inotify watch, a worker's pipe) shows up once and stays.
 * Sockets are named by protocol, TCP state and local/remote port from
 * /proc/self/net, so "tcp ESTABLISHED →6379" tells the Redis client apart
 * from a pool's upstream socket.
 */
export type FdCensus = Map<string, number>;

const TCP_STATES: Record<string, string> = { '01': 'ESTABLISHED', '02': 'SYN_SENT', '06': 'TIME_WAIT', '07': 'CLOSE', '08': 'CLOSE_WAIT', '0A': 'LISTEN' };

function port(hexAddr: string): number {
  return parseInt(hexAddr.split(':')[1] ?? '0', 16);
}

/** inode → description, for every socket this network namespace knows. */
function socketTable(): Map<string, string> {
  const m = new Map<string, string>();
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/self/net/${proto}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const [local, remote, st, inode] = [f[1]!, f[2]!, f[3]!, f[9]!];
      const base = proto.replace('6', '');
      const desc = base === 'tcp'
        ? `${base} ${TCP_STATES[st] ?? st} ${port(remote) ? `→${port(remote)}` : `:${port(local)}`}`
        : `${base}${port(remote) ? ` →${port(remote)}` : ''}`;
      m.set(inode, desc);
    }
  }
  try {
    for (const line of readFileSync('/proc/self/net/unix', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 7) m.set(f[6]!, `unix${f[7] ? ` ${f[7]}` : ''}`);
    }
  } catch {
    // No unix table: unix sockets stay "socket".
  }
  return m;
}

/** Counts of open fds by kind (listening ports stay exact: they identify the server). */
export function fdCensus(): FdCensus {
  const sockets = socketTable();
  const census: FdCensus = new Map();
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed between the listing and the readlink (the listing's own fd)
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    let kind = inode ? sockets.get(inode) ?? 'socket (other namespace or raw)' : target.replace(/\[\d+\]$/, '');
    // Per-connection ports change with every reconnect: keep the remote port (the upstream), not the local one.
    if (kind.startsWith('/proc/') || kind.startsWith('/tmp/')) kind = kind.replace(/\d+/g, 'N');
    census.set(kind, (census.get(kind) ?? 0) + 1);
  }
  return census;
}

/** "kind: before → after" for every kind whose count changed. */
export function censusDiff(before: FdCensus, after: FdCensus): string[] {
  const kinds = new Set([...before.keys(), ...after.keys()]);
  return [...kinds]
    .filter((k) => (before.get(k) ?? 0) !== (after.get(k) ?? 0))
    .sort()
    .map((k) => `${k}: ${before.get(k) ?? 0} → ${after.get(k) ?? 0}`);
}
