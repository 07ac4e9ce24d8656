import type { ClientHttp2Session } from 'node:http2';
import type { ConnectionFactory } from '../pools/types.js';
import { defineError } from '../errors.js';
import { Http2Session, type Http2SessionOptions } from './http2-session.js';

/**
 * The CRM/calendar REST API (README "CRM API") over a warm HTTP/2 session:
 * caller lookup by phone number, free slots, booking.
 */
export interface Contact { id: string; name: string; phone: string; notes: string }
export interface Appointment { id: string; contactId: string; start: string; durationMin: number; note: string }

export const SlotTakenError = defineError<{ start: string }>(
  'WL_ERR_CRM_SLOT_TAKEN',
  'SlotTakenError',
  (c) => `the CRM says ${c.start} is already booked`,
);

export interface CrmOptions {
  baseUrl: string;
  apiKey: string;
  ca?: string | undefined;
  maxStreams?: number;
  connectTimeoutMs?: number;
}

export class CrmSession extends Http2Session {
  readonly #auth: Record<string, string>;

  private constructor(session: ClientHttp2Session, o: CrmOptions, h2: Http2SessionOptions) {
    super(session, h2);
    this.#auth = { authorization: `Bearer ${o.apiKey}` };
  }

  static async open(o: CrmOptions, signal: AbortSignal): Promise<CrmSession> {
    const h2: Http2SessionOptions = { provider: 'crm', origin: new URL(o.baseUrl).origin, ca: o.ca, maxStreams: o.maxStreams ?? 100, ...(o.connectTimeoutMs !== undefined && { connectTimeoutMs: o.connectTimeoutMs }) };
    return new CrmSession(await Http2Session.connectSession(h2, signal), o, h2);
  }

  async #json<T>(leaseId: string, method: string, path: string, body?: object, signal?: AbortSignal): Promise<{ status: number; data: T | undefined }> {
    const headers = body === undefined ? this.#auth : { ...this.#auth, 'content-type': 'application/json' };
    const res = await this.request(leaseId, method, path, headers, body === undefined ? undefined : JSON.stringify(body), signal);
    if (res.status === 404 || res.status === 409) {
      await Http2Session.text(res.stream, 4000).catch(() => '');
      return { status: res.status, data: undefined };
    }
    if (res.status < 200 || res.status >= 300) throw await this.httpError(res, path);
    return { status: res.status, data: JSON.parse(await Http2Session.text(res.stream)) as T };
  }

  /** The contact with this E.164 number, or null. */
  async lookupCaller(leaseId: string, phone: string, signal?: AbortSignal): Promise<Contact | null> {
    const r = await this.#json<{ contact: Contact }>(leaseId, 'GET', `/v1/contacts?phone=${encodeURIComponent(phone)}`, undefined, signal);
    return r.data?.contact ?? null;
  }

  async availability(leaseId: string, date: string, signal?: AbortSignal): Promise<string[]> {
    const r = await this.#json<{ slots: string[] }>(leaseId, 'GET', `/v1/availability?date=${encodeURIComponent(date)}`, undefined, signal);
    return r.data?.slots ?? [];
  }

  /** Books a slot; WL_ERR_CRM_SLOT_TAKEN when it is taken. */
  async bookAppointment(leaseId: string, a: { contactId: string; start: string; durationMin?: number; note?: string }, signal?: AbortSignal): Promise<Appointment> {
    const r = await this.#json<{ appointment: Appointment }>(leaseId, 'POST', '/v1/appointments', a, signal);
    if (r.status === 409 || !r.data) throw new SlotTakenError({ start: a.start });
    return r.data.appointment;
  }
}

export function createCrmFactory(o: CrmOptions): ConnectionFactory<CrmSession> {
  return {
    upstream: 'crm',
    key: `crm|${o.baseUrl}`,
    open: (signal) => CrmSession.open(o, signal),
  };
}
