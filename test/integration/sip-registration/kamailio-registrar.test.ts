import assert from 'node:assert/strict';
import { UdpTransport, UserAgent, type SipRequest, type SipResponse } from '../../../sip/index.js';
import { RegistrationPool, type RegistrarClient, type RegistrationState } from '../../../sip/registration/index.js';
import { Kamailio } from '../../support/kamailio.js';
import { until } from '../../support/wait.js';

/** The real UA, with every exchange recorded so tests can look at the wire. */
class Recording implements RegistrarClient {
  readonly log: Array<{ req: SipRequest; res?: SipResponse }> = [];
  constructor(private readonly ua: UserAgent) {}
  get contact(): string { return this.ua.contact; }
  async sendRequest(req: SipRequest, to: { address: string; port: number }): Promise<SipResponse> {
    const e: { req: SipRequest; res?: SipResponse } = { req };
    this.log.push(e);
    e.res = await this.ua.sendRequest(req, to);
    return e.res;
  }
}

describe('registration pool against a real Kamailio registrar', function () {
  this.timeout(60_000);
  let k: Kamailio;
  let transport: UdpTransport;
  let ua: UserAgent;
  let rec: Recording;
  const pools: RegistrationPool[] = [];
  const pool = (o: Partial<ConstructorParameters<typeof RegistrationPool>[0]> = {}) => { const p = new RegistrationPool({ ua: rec, keepaliveMs: 0, ...o }); pools.push(p); return p; };
  const account = (user: string, o: Record<string, unknown> = {}) => ({ id: user, user, domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: k.port }, password: Kamailio.password(user), ...o });

  before(async () => {
    k = new Kamailio({ nonceExpire: 2 });
    await k.start();
  });
  after(async () => { await k.dispose(); });
  beforeEach(async () => {
    transport = await UdpTransport.bind('127.0.0.1', 0);
    ua = new UserAgent({ transport, timers: { T1: 100, T2: 400, T4: 500 } });
    rec = new Recording(ua);
  });
  afterEach(async () => {
    for (const p of pools.splice(0)) await p.close();
    await ua.close();
    await transport.close();
  });

  it('registers with MD5 digest, refreshes with the same Call-ID and a higher CSeq, un-REGISTERs on close', async () => {
    const p = pool();
    let readyEvents = 0;
    p.on('ready', () => readyEvents++);
    p.add(account('alice', { expires: 4 }));
    await until(() => p.ready, 'registered', 10_000);
    assert.equal(readyEvents, 1);
    assert.equal(rec.log[0]!.res!.status, 401, 'first REGISTER is challenged');
    assert.match(rec.log[0]!.res!.header('www-authenticate') ?? '', /qop="auth"/);
    const b = await k.bindings('alice');
    assert.equal(b.length, 1);
    assert.ok(b[0]!.includes(ua.contact.replace(/^sip:/, '')), b[0]);
    const first = p.snapshot('alice')!;
    assert.ok(first.expiresAt! > Date.now());
    // Refresh at half of the granted 4 s.
    await until(() => rec.log.filter((e) => e.res?.status === 200).length >= 2, 'refresh', 10_000);
    const regs = rec.log.filter((e) => e.req.method === 'REGISTER');
    assert.equal(new Set(regs.map((e) => e.req.callId)).size, 1, 'one Call-ID across refreshes');
    const cseqs = regs.map((e) => e.req.cseq.seq);
    assert.deepEqual(cseqs, [...cseqs].sort((x, y) => x - y));
    assert.equal(new Set(cseqs).size, cseqs.length, 'CSeq strictly increases');
    assert.equal(p.snapshot('alice')!.failures, 0);
    await p.close();
    const last = rec.log.at(-1)!;
    assert.equal(last.req.header('expires'), '0');
    assert.equal(last.res!.status, 200);
    assert.deepEqual(await k.bindings('alice'), []);
  });

  it('a stale nonce on refresh is retried and not counted as a failure', async () => {
    const p = pool();
    // Kamailio compares nonce expiry in whole seconds, so a nonce made at t0+0.9 s with
    // nonce_expire=2 is still fresh at t0+2.9 s. Expires 8 refreshes at 3.6–4 s: always stale.
    p.add(account('bob', { expires: 8 }));
    await until(() => rec.log.filter((e) => e.res?.status === 200).length >= 2, 'refresh after nonce expiry', 15_000);
    const stale = rec.log.filter((e) => e.res?.status === 401 && /stale=true/i.test(e.res.header('www-authenticate') ?? ''));
    assert.ok(stale.length >= 1, 'Kamailio said stale=true');
    assert.equal(p.snapshot('bob')!.failures, 0);
    assert.equal(p.snapshot('bob')!.state, 'registered');
  });

  it('wrong password → failed state with a long backoff, bounded attempts', async () => {
    const p = pool({ backoff: { baseMs: 200, maxMs: 1000, forbiddenMs: 30_000 } });
    const states: RegistrationState[] = [];
    p.on('state', (_id, s) => states.push(s));
    p.add({ ...account('carol'), password: 'wrong' });
    await until(() => p.snapshot('carol')!.state === 'failed', 'failed', 10_000);
    const carols = () => rec.log.filter((e) => e.req.method === 'REGISTER' && /carol@/.test(e.req.header('to') ?? '')).length;
    const atFailure = carols();
    assert.ok(atFailure <= 3, `${atFailure} REGISTERs before giving up`);
    // No hot loop: while another account registers and refreshes (half of its 4 s), carol sends nothing.
    const clock = pool();
    clock.add(account('erin', { expires: 4 }));
    await until(() => rec.log.filter((e) => /erin@/.test(e.req.header('to') ?? '') && e.res?.status === 200).length >= 2, "erin's refresh", 15_000);
    assert.equal(carols(), atFailure, 'no REGISTER for carol while erin registered and refreshed');
    assert.equal(p.snapshot('carol')!.failures, 1);
    assert.equal(p.ready, false);
    assert.deepEqual(states, ['registering', 'failed']);
    assert.deepEqual(await k.bindings('carol'), []);
  });

  it('OPTIONS keepalive is answered while registered', async () => {
    const p = pool({ keepaliveMs: 300 });
    p.add(account('dave', { expires: 60 }));
    await until(() => rec.log.filter((e) => e.req.method === 'OPTIONS' && e.res?.status === 200).length >= 2, 'keepalives', 10_000);
    assert.ok(p.snapshot('dave')!.rttMs! >= 0);
  });

  it('registrar down and back on the same port → backoff, then registered again', async () => {
    const p = pool({ keepaliveMs: 300, backoff: { baseMs: 300, maxMs: 2000 } });
    p.add(account('erin', { expires: 60 }));
    await until(() => p.ready, 'registered', 10_000);
    let unready = 0;
    p.on("unready", () => unready++);
    await k.stop();
    await until(() => p.snapshot('erin')!.state === 'backoff', 'backoff after registrar loss', 30_000);
    assert.equal(unready, 1);
    assert.ok(p.snapshot('erin')!.failures >= 1);
    await k.start();
    await until(() => p.ready, 're-registered', 30_000);
    assert.equal((await k.bindings('erin')).length, 1);
  });
});

describe('registration pool with SHA-256 digest (Kamailio auth algorithm=SHA-256)', function () {
  this.timeout(30_000);
  it('registers', async () => {
    const k = new Kamailio({ algorithm: 'SHA-256' });
    await k.start();
    const transport = await UdpTransport.bind('127.0.0.1', 0);
    const ua = new UserAgent({ transport, timers: { T1: 100, T2: 400, T4: 500 } });
    const rec = new Recording(ua);
    const p = new RegistrationPool({ ua: rec, keepaliveMs: 0 });
    try {
      p.add({ id: 'sha', user: 'sha', domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: k.port }, password: Kamailio.password('sha'), expires: 60 });
      await until(() => p.ready, 'registered', 10_000);
      assert.match(rec.log[0]!.res!.header('www-authenticate') ?? '', /algorithm=SHA-256/i);
      assert.match(String(rec.log[1]!.req.header('authorization')), /algorithm=SHA-256/);
    } finally {
      await p.close();
      await ua.close();
      await transport.close();
      await k.dispose();
    }
  });
});
