import { EventEmitter } from 'node:events';
import type { ConnectionFactory, PooledConnection } from '../pools/index.js';
import { defineError } from '../errors.js';
import { connectHttp } from './http-connect.js';
import type { HttpConnection } from './http-connection.js';
import { UpstreamHttpError, excerpt } from './errors.js';

/**
 * The CRM/calendar REST API (README "CRM API") over a warm connection: caller lookup by phone
 * number, free slots, booking. HTTP/2 when the CRM offers it, HTTP/1.1 keep-alive when it does
 * not (http-connect.ts): many CRMs and calendars still answer HTTP/1.1 only.
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

export class CrmSession extends EventEmitter<{ close: [cause?: Error] }> implements PooledConnection {
  readonly #conn: HttpConnection;
  readonly #auth: Record<string, string>;

  private constructor(conn: HttpConnection, o: CrmOptions) {
    super();
    this.#conn = conn;
    this.#auth = { authorization: `Bearer ${o.apiKey}` };
    conn.on('close', (cause) => this.emit('close', cause));
  }

  static async open(o: CrmOptions, signal: AbortSignal): Promise<CrmSession> {
    const conn = await connectHttp({ provider: 'crm', baseUrl: o.baseUrl, ca: o.ca, maxStreams: o.maxStreams ?? 100, ...(o.connectTimeoutMs !== undefined && { connectTimeoutMs: o.connectTimeoutMs }) }, signal);
    return new CrmSession(conn, o);
  }

  get id(): string { return this.#conn.id; }
  /** `h2` or `http/1.1`, as the CRM chose in ALPN. */
  get protocol(): HttpConnection['protocol'] { return this.#conn.protocol; }
  get capacity(): number { return this.#conn.capacity; }
  get usable(): boolean { return this.#conn.usable; }
  keepalive(): Promise<void> { return this.#conn.keepalive(); }
  reset(leaseId: string): Promise<boolean> { return this.#conn.reset(leaseId); }
  close(): Promise<void> { return this.#conn.close(); }
  destroy(reason?: Error): void { this.#conn.destroy(reason); }

  async #json<T>(leaseId: string, method: string, path: string, body?: object, signal?: AbortSignal): Promise<{ status: number; data: T | undefined }> {
    const headers = body === undefined ? this.#auth : { ...this.#auth, 'content-type': 'application/json' };
    const res = await this.#conn.exchange(leaseId, method, path, headers, body === undefined ? undefined : JSON.stringify(body), signal);
    if (res.status === 404 || res.status === 409) return { status: res.status, data: undefined };
    if (res.status < 200 || res.status >= 300) {
      throw new UpstreamHttpError({ provider: 'crm', url: `${this.#conn.origin}${path}`, status: res.status, body: excerpt(res.body) });
    }
    return { status: res.status, data: JSON.parse(res.body) as T };
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
