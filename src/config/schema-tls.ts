import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * TLS to and from carriers: the listener (`sip.tls`) with the CA bundle our own outbound TLS
 * connections trust, and a registration's own TLS settings (`registrations[].tls`).
 */

const port = z.number().int().min(0).max(65535);

export const sipTlsSchema = z.strictObject({
  enabled: z.boolean(),
  port,
  certFile: z.string(),
  keyFile: z.string(),
  // PEM CA bundle for TLS connections we open; '' is Node's bundle of public CAs.
  caFile: z.string(),
}).refine((t) => !t.enabled || (t.certFile !== '' && t.keyFile !== ''), { message: 'certFile and keyFile when TLS is enabled', path: ['certFile'] });

export const registrationTlsSchema = z.strictObject({
  // The name the registrar's certificate must carry; default: registrar.host when it is a name.
  serverName: z.string().refine((h) => isIP(h) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(h), 'a host name or an IP address').optional(),
  caFile: z.string().min(1).optional(),
  certFile: z.string().min(1).optional(),
  keyFile: z.string().min(1).optional(),
}).refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), { message: 'both certFile and keyFile (a client certificate), or neither', path: ['certFile'] });

interface TlsView {
  sip: { tls: { enabled: boolean } };
  registrations: ReadonlyArray<{ registrar: { transport?: 'udp' | 'tcp' | 'tls' | undefined }; tls?: unknown }>;
}

/**
 * A registration over TLS registers a `;transport=tls` Contact at our TLS listener, so the
 * listener must exist; TLS settings on a registration that does not use TLS are a mistake.
 */
export function checkRegistrationTls(c: TlsView, ctx: z.RefinementCtx): void {
  c.registrations.forEach((r, i) => {
    if (r.registrar.transport === 'tls' && !c.sip.tls.enabled) {
      ctx.addIssue({ code: 'custom', path: ['registrations', i, 'registrar', 'transport'], message: 'tls needs sip.tls.enabled (the carrier calls back to our TLS listener)' });
    }
    if (r.tls !== undefined && r.registrar.transport !== 'tls') {
      ctx.addIssue({ code: 'custom', path: ['registrations', i, 'tls'], message: 'tls settings apply with registrar.transport: tls' });
    }
  });
}
