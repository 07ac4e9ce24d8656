import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { TcpTransport, UdpTransport, UserAgent, type SipRequest, type SipResponse } from '../../../sip/index.js';
import { RegistrationPool } from '../../../sip/registration/index.js';
import { freeUdpPort, Kamailio } from '../../support/kamailio.js';
import { until } from '../../support/wait.js';

const CFG = fileURLToPath(new URL('./scenarios/kamailio-registrar-tcp.cfg', import.meta.url));

describe('sip: registrations over TCP against a real Kamailio', function () {
  this.timeout(60_000);
  let k: Kamailio;
  let udp: UdpTransport;
  let tcp: TcpTransport;
  let ua: UserAgent;
  let pool: RegistrationPool | undefined;

  before(async () => {
    const port = await freeUdpPort();
    k = new Kamailio({ port, script: { file: CFG, defines: { REG_ADDR: `127.0.0.1:${port}` } } });
    await k.start();
  });
  after(async () => { await k.dispose(); });
  beforeEach(async () => {
    udp = await UdpTransport.bind('127.0.0.1', 0);
    tcp = await TcpTransport.bind('127.0.0.1', 0);
    ua = new UserAgent({ transport: [udp, tcp], timers: { T1: 100, T2: 400, T4: 500 } });
  });
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
    await ua.close();
    await udp.close();
    await tcp.close();
  });

  it('an account with registrar.transport tcp registers (digest challenge and all) and refreshes over one TCP connection', async () => {
    const sent: Array<{ req: SipRequest; res?: SipResponse }> = [];
    const client = {
      get contact() { return ua.contact; },
      contactFor: (t: 'udp' | 'tcp' | 'tls') => ua.contactFor(t),
      async sendRequest(req: SipRequest, to: { address: string; port: number; transport?: 'udp' | 'tcp' | 'tls' }) {
        const e: { req: SipRequest; res?: SipResponse } = { req };
        sent.push(e);
        e.res = await ua.sendRequest(req, to);
        return e.res;
      },
    };
    pool = new RegistrationPool({ ua: client, keepaliveMs: 0 });
    pool.add({ id: 'tcpuser', user: 'tcpuser', domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: k.port, transport: 'tcp' }, password: Kamailio.password('tcpuser'), expires: 2 });
    await until(() => pool!.ready, 'registered over TCP', 15_000);
    assert.equal(sent[0]!.res!.status, 401, 'challenged first');
    // refreshed at half of 2 s, still over TCP, on the same connection
    await until(() => sent.filter((e) => e.res?.status === 200).length >= 2, 'a refresh', 15_000);
    assert.ok(sent.every((e) => e.req.via[0]!.transport === 'TCP'), 'every REGISTER went over TCP');
    assert.equal(tcp.stats.opened, 1, 'one connection for the challenge, the answer and the refresh');
    assert.equal(udp.stats.sent, 0);
    const bindings = await k.bindings('tcpuser');
    assert.equal(bindings.length, 1);
    assert.ok(bindings[0]!.includes(`127.0.0.1:${tcp.local.port};transport=tcp`), `the Contact says TCP: ${bindings[0]}`);
  });
});
