import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { DelayedTlsListener, type LocalServerOptions } from './local-server.js';

/**
 * The local CRM/calendar: caller lookup by phone number, free slots, and
 * booking, as REST over HTTP/2 with Bearer auth (see README "CRM API").
 */
export interface CrmServerOptions extends LocalServerOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS announced to clients (and enforced by node:http2). Default 100. */
  maxConcurrentStreams?: number;
}

interface Contact { id: string; name: string; phone: string; notes: string }
interface Appointment { id: string; contactId: string; start: string; durationMin: number; note: string }

const SEED: Contact[] = [
  { id: 'c_1', name: 'Ada Lovelace', phone: '+15551230001', notes: 'Prefers mornings.' },
  { id: 'c_2', name: 'Alan Turing', phone: '+15551230002', notes: 'Annual check-up due.' },
  { id: 'c_3', name: 'Grace Hopper', phone: '+15551230003', notes: '' },
];

function send(res: Http2ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const error = (res: Http2ServerResponse, status: number, code: string, message: string) => send(res, status, { error: { code, message } });

async function readBody(req: Http2ServerRequest): Promise<string> {
  let text = '';
  for await (const c of req) {
    text += (c as Buffer).toString('utf8');
    if (text.length > 100_000) throw new Error('body too large');
  }
  return text;
}

export async function startCrmServer(o: CrmServerOptions): Promise<DelayedTlsListener> {
  const contacts = new Map(SEED.map((c) => [c.phone, c]));
  const byId = new Map(SEED.map((c) => [c.id, c]));
  const booked = new Map<string, Appointment>();
  let seq = 0;
  const server = createSecureServer({ key: o.certificate.key, cert: o.certificate.cert, allowHTTP1: true, settings: { maxConcurrentStreams: o.maxConcurrentStreams ?? 100 } });
  const listener = new DelayedTlsListener(server, { scheme: 'https', host: o.host, port: o.port, handshakeDelayMs: o.handshakeDelayMs });

  server.on('request', (req, res) => {
    listener.stats.requests++;
    listener.recordOpen(req.method, req.url ?? '/', req.headers);
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) error(res, 500, 'internal', err.message);
    });
  });

  async function handle(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://local');
    if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, { ok: true });
    if (req.headers.authorization !== `Bearer ${o.apiKey}`) return error(res, 401, 'unauthorized', 'missing or invalid bearer token');
    const chaos = listener.chaos.error();
    if (chaos) return error(res, chaos, chaos === 429 ? 'rate_limited' : 'unavailable', 'chaos');
    const delay = o.firstByteDelayMs + listener.chaos.slowFirstByteMs;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));

    if (req.method === 'GET' && url.pathname === '/v1/contacts') {
      const phone = url.searchParams.get('phone');
      if (!phone) return error(res, 400, 'bad_request', 'the phone query parameter is required');
      const c = contacts.get(phone);
      return c ? send(res, 200, { contact: c }) : error(res, 404, 'not_found', `no contact with phone ${phone}`);
    }
    if (req.method === 'GET' && url.pathname === '/v1/availability') {
      const date = url.searchParams.get('date') ?? '';
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) return error(res, 400, 'bad_request', 'date must be YYYY-MM-DD');
      const slots: string[] = [];
      for (let h = 9; h < 17; h++) {
        for (const m of ['00', '30']) {
          const start = `${date}T${String(h).padStart(2, '0')}:${m}:00Z`;
          if (!booked.has(start)) slots.push(start);
        }
      }
      return send(res, 200, { date, slots });
    }
    if (req.method === 'POST' && url.pathname === '/v1/appointments') {
      let body: Partial<Appointment>;
      try {
        body = JSON.parse(await readBody(req)) as Partial<Appointment>;
      } catch {
        return error(res, 400, 'bad_request', 'the body must be JSON');
      }
      const start = typeof body.start === 'string' && !Number.isNaN(Date.parse(body.start)) ? new Date(body.start).toISOString().replace('.000Z', 'Z') : undefined;
      if (typeof body.contactId !== 'string' || !byId.has(body.contactId)) return error(res, 400, 'bad_request', 'contactId must name a known contact');
      if (!start) return error(res, 400, 'bad_request', 'start must be an ISO date-time');
      const durationMin = typeof body.durationMin === 'number' && body.durationMin > 0 ? body.durationMin : 30;
      if (booked.has(start)) return error(res, 409, 'slot_taken', `${start} is already booked`);
      const appointment: Appointment = { id: `a_${++seq}`, contactId: body.contactId, start, durationMin, note: typeof body.note === 'string' ? body.note : '' };
      booked.set(start, appointment);
      return send(res, 201, { appointment });
    }
    return error(res, 404, 'not_found', `no route ${req.method} ${url.pathname}`);
  }

  await listener.listen();
  return listener;
}
