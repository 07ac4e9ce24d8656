import { TcpTransport, UdpTransport, type Transport } from '../../sip/index.js';

/**
 * Binds every configured SIP transport on one port. With port 0 the first
 * transport picks a free port and the others take the same one; if another
 * process holds it for them, we start over with a new one (bounded).
 */
export async function bindSipTransports(host: string, port: number, kinds: readonly ('udp' | 'tcp')[]): Promise<Transport[]> {
  const bind = (kind: 'udp' | 'tcp', p: number): Promise<Transport> => (kind === 'udp' ? UdpTransport.bind(host, p) : TcpTransport.bind(host, p));
  for (let attempt = 1; ; attempt++) {
    const [first, ...rest] = kinds;
    const bound: Transport[] = [await bind(first!, port)];
    try {
      for (const k of rest) bound.push(await bind(k, bound[0]!.local.port));
      return bound;
    } catch (err) {
      await Promise.all(bound.map((t) => t.close()));
      if (port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw err;
    }
  }
}
