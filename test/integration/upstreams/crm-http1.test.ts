import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { MultiplexedPool } from '../../../src/pools/index.js';
import { startLocalUpstreams, type LocalUpstreams } from '../../../src/local/index.js';
import { makeCertificate, type Certificate } from '../../../src/local/tls-certificate.js';
import { createCrmFactory, SlotTakenError, type CrmSession } from '../../../src/upstreams/index.js';
import { until } from '../../support/wait.js';

/**
 * A CRM that speaks HTTP/1.1 only (node:http / node:https, no HTTP/2 in ALPN): before undici
 * carried HTTP/1.1 the CRM pool could not open a single connection to such a peer.
 */
class Http1Crm {
  readonly server: Server;
  connections = 0;
  pings = 0;
  readonly versions = new Set<string>();
  readonly sockets = new Set<Socket>();
  readonly #booked = new Set<string>();

  constructor(cert: Certificate | undefined) {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    this.server = cert ? createHttpsServer({ key: cert.key, cert: cert.cert }, handler) : createHttpServer(handler);
    this.server.on(cert ? 'secureConnection' : 'connection', (s: Socket) => {
      this.connections++;
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.versions.add(req.httpVersion);
    if (req.method === 'OPTIONS') { this.pings++; res.writeHead(204).end(); return; }
    const url = new URL(req.url ?? '/', 'http://crm');
    const json = (status: number, body: object): void => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)); };
    if (req.headers.authorization !== 'Bearer k1') return json(401, { error: 'unauthorized' });
    if (req.method === 'GET' && url.pathname === '/v1/contacts') {
      const phone = url.searchParams.get('phone');
      return phone === '+15551230001' ? json(200, { contact: { id: 'c_1', name: 'Ada Lovelace', phone, notes: '' } }) : json(404, { error: 'not_found' });
    }
    if (req.method === 'POST' && url.pathname === '/v1/appointments') {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => { text += c; });
      req.on('end', () => {
        const a = JSON.parse(text) as { contactId: string; start: string };
        if (this.#booked.has(a.start)) return json(409, { error: 'slot_taken' });
        this.#booked.add(a.start);
        json(201, { appointment: { id: 'a_1', contactId: a.contactId, start: a.start, durationMin: 30, note: '' } });
      });
      return;
    }
    json(404, { error: 'no route' });
  }
}

function crmPool(baseUrl: string, ca: string | undefined, o: { min: number; keepaliveMs?: number; apiKey?: string }): MultiplexedPool<CrmSession> {
  return new MultiplexedPool({
    name: 'crm', factory: createCrmFactory({ baseUrl, apiKey: o.apiKey ?? 'k1', ca }), min: o.min, max: 4,
    keepaliveMs: o.keepaliveMs ?? 0, backoff: { initialMs: 20, maxMs: 200 },
  });
}

describe('upstreams: a CRM that speaks HTTP/1.1 only', function () {
  this.timeout(30_000);
  let cert: Certificate;
  const cleanup: Array<() => Promise<void> | void> = [];
  before(async () => { cert = await makeCertificate(); });
  afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c(); });

  it('over TLS: warm keep-alive connections opened ahead, reused for every request, 404 and 409 typed', async () => {
    const crm = new Http1Crm(cert);
    const port = await crm.listen();
    cleanup.push(() => crm.close());
    const pool = crmPool(`https://127.0.0.1:${port}`, cert.cert, { min: 2 });
    cleanup.push(() => pool.close());
    pool.start();
    await pool.whenReady();
    // The server sees a TLS 1.3 handshake complete a moment after the client does.
    await until(() => crm.connections === 2, 'the floor open before any request');

    for (let i = 0; i < 20; i++) {
      const lease = await pool.acquire();
      assert.equal(lease.conn.protocol, 'http/1.1');
      const contact = await lease.conn.lookupCaller(lease.id, '+15551230001');
      assert.equal(contact?.name, 'Ada Lovelace');
      assert.equal(await lease.conn.lookupCaller(lease.id, '+15550000000'), null);
      lease.release();
    }
    const lease = await pool.acquire();
    const booked = await lease.conn.bookAppointment(lease.id, { contactId: 'c_1', start: '2026-12-02T09:00:00Z' });
    assert.equal(booked.start, '2026-12-02T09:00:00Z');
    await assert.rejects(lease.conn.bookAppointment(lease.id, { contactId: 'c_1', start: '2026-12-02T09:00:00Z' }), (e: unknown) => e instanceof SlotTakenError);
    lease.release();

    assert.deepEqual([...crm.versions], ['1.1']);
    assert.equal(crm.connections, 2, 'no connection was opened inside a request');
    assert.equal(pool.stats().opens, 2);
  });

  it('over plain http:// too', async () => {
    const crm = new Http1Crm(undefined);
    const port = await crm.listen();
    cleanup.push(() => crm.close());
    const pool = crmPool(`http://127.0.0.1:${port}`, undefined, { min: 1 });
    cleanup.push(() => pool.close());
    pool.start();
    await pool.whenReady();
    const lease = await pool.acquire();
    assert.equal(lease.waited, false, 'a warm connection');
    assert.equal(lease.conn.protocol, 'http/1.1');
    assert.equal((await lease.conn.lookupCaller(lease.id, '+15551230001'))?.id, 'c_1');
    lease.release();
    // The pool may grow toward peak × headroom meanwhile; undici never opened one of its own.
    assert.equal(crm.connections, pool.stats().opens);
  });

  it('keepalives (OPTIONS) hold an idle connection past the server\'s keep-alive timeout', async () => {
    const crm = new Http1Crm(cert);
    crm.server.keepAliveTimeout = 1000;
    const port = await crm.listen();
    cleanup.push(() => crm.close());
    const pool = crmPool(`https://127.0.0.1:${port}`, cert.cert, { min: 1, keepaliveMs: 100 });
    cleanup.push(() => pool.close());
    pool.start();
    await pool.whenReady();
    // Fifteen keepalives 100 ms apart span 1.4 s at least: past the server's 1 s idle timeout.
    await until(() => crm.pings >= 15, 'fifteen keepalives');
    assert.equal(crm.connections, 1, 'the same connection all along');
    assert.equal(pool.stats().replacements, 0);
  });

  it('a connection the server closes leaves the pool and is replaced in the background', async () => {
    const crm = new Http1Crm(cert);
    const port = await crm.listen();
    cleanup.push(() => crm.close());
    const pool = crmPool(`https://127.0.0.1:${port}`, cert.cert, { min: 1 });
    cleanup.push(() => pool.close());
    pool.start();
    await pool.whenReady();
    await until(() => crm.sockets.size === 1, 'the server to see the connection');
    for (const s of crm.sockets) s.destroy();
    await until(() => pool.stats().opens === 2 && pool.ready, 'a replacement connection');
    const lease = await pool.acquire();
    assert.equal((await lease.conn.lookupCaller(lease.id, '+15551230001'))?.id, 'c_1');
    lease.release();
    assert.equal(crm.connections, 2);
  });

  describe('a CRM that offers HTTP/2', () => {
    let up: LocalUpstreams;
    before(async () => { up = await startLocalUpstreams({}); });
    after(async () => { await up.close(); });

    it('gets an HTTP/2 session (ALPN picks h2 when the peer offers it)', async () => {
      const pool = crmPool(up.crm.url, up.ca, { min: 1, apiKey: 'local-dev-key' });
      cleanup.push(() => pool.close());
      pool.start();
      await pool.whenReady();
      const lease = await pool.acquire();
      assert.equal(lease.conn.protocol, 'h2');
      assert.ok(lease.conn.capacity > 1, 'streams share the session');
      assert.equal((await lease.conn.lookupCaller(lease.id, '+15551230001'))?.name, 'Ada Lovelace');
      lease.release();
    });
  });
});
