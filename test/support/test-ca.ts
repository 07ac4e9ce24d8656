import { generate } from 'selfsigned';

export interface Pem { cert: string; key: string }

/** The names a leaf certificate is issued for (subjectAltName dNSName and iPAddress entries). */
export interface CertNames { dns?: string[]; ip?: string[] }

/**
 * A private CA made by the test, and leaf certificates it signs: what a carrier's public CA
 * and its certificate are in production. EC P-256 keys (fast to make), valid for a day.
 */
export class TestCa {
  private constructor(readonly root: Pem) {}

  static async create(name = 'Warmline test CA'): Promise<TestCa> {
    const p = await generate([{ name: 'commonName', value: name }], {
      keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notAfterDate: new Date(Date.now() + 86_400_000),
      extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
    });
    return new TestCa({ cert: p.cert, key: p.private });
  }

  /** A server (and client) certificate for `names`, its common name the first of them. */
  async issue(names: CertNames): Promise<Pem> {
    const cn = names.dns?.[0] ?? names.ip?.[0] ?? 'leaf';
    const p = await generate([{ name: 'commonName', value: cn }], {
      keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notAfterDate: new Date(Date.now() + 86_400_000),
      ca: { cert: this.root.cert, key: this.root.key },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        { name: 'subjectAltName', altNames: [...(names.dns ?? []).map((value) => ({ type: 2 as const, value })), ...(names.ip ?? []).map((ip) => ({ type: 7 as const, ip }))] },
      ],
    });
    return { cert: p.cert, key: p.private };
  }
}
