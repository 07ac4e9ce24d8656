import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { TcpTransport, TlsTransport, UdpTransport, WsTransport, type Transport } from '../../sip/index.js';
import type { UdpOptions } from '../../sip/transport/udp-transport.js';
import type { SipConfig } from '../config/index.js';
import { defineError } from '../errors.js';
import type { Logger } from '../log.js';
import { SipRejections } from './sip-rejections.js';

export const SipCertificateError = defineError<{ key: string; path: string; reason: string }>(
  'WL_ERR_SIP_CERTIFICATE',
  'SipCertificateError',
  (c) => `${c.key} '${c.path}' cannot be read: ${c.reason}`,
);

/** A certificate or key file named by config key `key` (the SIP listeners', the ops server's, a registration's). */
export function pem(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new SipCertificateError({ key, path, reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err) }, { cause: err });
  }
}

/** EADDRINUSE, whether the socket's own error or the cause of the transport's typed error. */
function addressInUse(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') return true;
  }
  return false;
}

/**
 * Binds every configured SIP transport. UDP and TCP share one port: with
 * port 0 the first picks a free port and the other takes the same one; if
 * another process holds it for them, we start over with a new one (bounded).
 * TLS and WebSocket have ports of their own (`demo`: a WebSocket even when
 * sip.ws is off, for the browser demo; WSS with the given certificate when the
 * page is served over HTTPS, which may not open a plain ws://). Refusals (malformed messages,
 * connection rules) are counted on `registry` and logged on `log`.
 */
export async function bindSipTransports(sip: SipConfig, observe: { registry?: Registry; log?: Logger } = {}, demo: boolean | { cert: string; key: string } = false, udp: Pick<UdpOptions, 'admit'> = {}): Promise<Transport[]> {
  const { host } = sip;
  // 0: the system's default SO_RCVBUF (net.core.rmem_default).
  const udpOptions: UdpOptions = { ...udp, ...(sip.udpReceiveBufferBytes > 0 && { receiveBufferBytes: sip.udpReceiveBufferBytes }) };
  const perSource = { maxConnectionsPerSource: sip.maxConnectionsPerSource };
  const bind = (kind: 'udp' | 'tcp', p: number): Promise<Transport> => (kind === 'udp' ? UdpTransport.bind(host, p, undefined, udpOptions) : TcpTransport.bind(host, p, perSource));
  let bound: Transport[] = [];
  for (let attempt = 1; ; attempt++) {
    const [first, ...rest] = sip.transports;
    bound = [await bind(first!, sip.port)];
    try {
      for (const k of rest) bound.push(await bind(k, bound[0]!.local.port));
      break;
    } catch (err) {
      await Promise.all(bound.map((t) => t.close()));
      if (sip.port !== 0 || !addressInUse(err) || attempt >= 5) throw err;
    }
  }
  try {
    if (sip.tls.enabled) {
      const client = sip.tls.caFile ? { ca: pem('sip.tls.caFile', sip.tls.caFile) } : {};
      bound.push(await TlsTransport.bind(host, sip.tls.port, { ...perSource, server: { cert: pem('sip.tls.certFile', sip.tls.certFile), key: pem('sip.tls.keyFile', sip.tls.keyFile) }, client }));
    }
    if (sip.ws.enabled) {
      const tls = sip.ws.certFile ? { cert: pem('sip.ws.certFile', sip.ws.certFile), key: pem('sip.ws.keyFile', sip.ws.keyFile) } : undefined;
      bound.push(await WsTransport.bind(host, sip.ws.port, { ...perSource, ...(tls && { tls }) }));
    } else if (demo) {
      // The browser demo needs SIP over WebSocket even where sip.ws is off: a port of the OS's choice.
      bound.push(await WsTransport.bind(host, 0, { ...perSource, ...(typeof demo === 'object' && { tls: demo }) }));
    }
  } catch (err) {
    await Promise.all(bound.map((t) => t.close()));
    throw err;
  }
  new SipRejections(observe).watch(bound);
  return bound;
}
