import { isIP } from 'node:net';
import { generate } from 'selfsigned';

export interface Certificate {
  readonly key: string;
  readonly cert: string;
}

/**
 * A self-signed certificate for the local upstreams, made at start so that no
 * key material lives in the repository. Clients trust it by passing `cert` as
 * their `ca`. Names: localhost, 127.0.0.1, ::1 and any extra host given.
 */
export async function makeCertificate(extraHosts: readonly string[] = []): Promise<Certificate> {
  const hosts = new Set(['localhost', '127.0.0.1', '::1', ...extraHosts]);
  const altNames = [...hosts].map((h) => (isIP(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h }));
  const pems = await generate([{ name: 'commonName', value: 'warmline-local-upstreams' }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 30 * 86_400_000),
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
