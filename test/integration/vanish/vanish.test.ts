import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReplica, type Replica } from '../../support/replica.js';
import { until } from '../../support/wait.js';
import { VanishPeer, type PeerTransport } from './peer.js';

interface Held { rtpPorts: number; pacerStreams: number; leases: number; sipTransactions: { client: number; server: number } }
interface CallsView { active: unknown[]; totals: { answered: number; refused: number; ended: Record<string, number> }; held: Held }

/**
 * Issue 9: a peer that vanishes at any step of any dialog or transaction must
 * cost the gateway nothing — not the process (it runs here as `npm start`
 * runs it, a child process with Node's default --unhandled-rejections=throw),
 * not a lease, an RTP port or a pacer stream. SIP timers are shortened by
 * config (T1 = 20 ms: Timer F and the ACK wait take 1.28 s), and so are the RTP
 * timeout and the session interval, so each step plays out in seconds.
 */
describe('vanish: a peer that disappears at any step leaves the gateway whole', function () {
  this.timeout(60_000);
  let gw: Replica;
  let dir: string;
  let wsPort = 0;
  const registrar = { udp: undefined as dgram.Socket | undefined, tcp: undefined as Server | undefined, udpSeen: 0, tcpSeen: 0 };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wl-vanish-'));
    // Two registrars that stop answering: over UDP one challenges the first REGISTER and then
    // goes silent (the authenticated REGISTER is never answered); over TCP one resets every connection.
    const udp = dgram.createSocket('udp4');
    udp.on('message', (m, rinfo) => {
      const text = m.toString('latin1');
      if (!text.startsWith('REGISTER ')) return;
      if (registrar.udpSeen++ > 0) return;
      const h = (n: string) => new RegExp(`^${n}:\\s*(.*)$`, 'im').exec(text)?.[1]?.trim() ?? '';
      udp.send(Buffer.from([
        'SIP/2.0 401 Unauthorized', `Via: ${h('via')}`, `From: ${h('from')}`, `To: ${h('to')};tag=reg`, `Call-ID: ${h('call-id')}`, `CSeq: ${h('cseq')}`,
        'WWW-Authenticate: Digest realm="vanish", nonce="n1", algorithm=MD5, qop="auth"', 'Content-Length: 0', '', '',
      ].join('\r\n')), rinfo.port, rinfo.address);
    });
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    registrar.udp = udp;
    const tcp = createServer((s: Socket) => {
      s.on('error', () => undefined);
      s.once('data', () => { registrar.tcpSeen++; s.resetAndDestroy(); });
    });
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    registrar.tcp = tcp;
    const regs = (['udp', 'tcp'] as const).map((t) => ({
      id: `vanish-${t}`, user: '+15550009999', domain: 'vanish.test',
      registrar: { host: '127.0.0.1', port: t === 'udp' ? udp.address().port : (tcp.address() as { port: number }).port, transport: t },
      username: 'u', password: 'p', expires: 60,
    }));
    const file = join(dir, 'vanish.yaml');
    writeFileSync(file, `registrations: ${JSON.stringify(regs)}\n`);
    gw = await startReplica({
      WARMLINE_SIP__TIMERS__T1MS: '20', WARMLINE_SIP__TIMERS__T2MS: '80', WARMLINE_SIP__TIMERS__T4MS: '100',
      WARMLINE_SIP__MINSESSIONEXPIRESS: '1',
      WARMLINE_SIP__WS__ENABLED: 'true', WARMLINE_SIP__WS__PORT: '0',
      // Over WS the browser demo would ask these peers for credentials (401): here they stand for a carrier's WS leg.
      WARMLINE_DEMO__ENABLED: 'false',
      WARMLINE_MEDIA__RTPTIMEOUTMS: '2500',
      WARMLINE_POOLS__ASR__MIN: '2',
    }, ['--config', file]);
    const replica = (await (await fetch(`${gw.url}/api/replica`)).json()) as { sip: Array<{ protocol: string; port: number }> };
    wsPort = replica.sip.find((l) => l.protocol === 'WS')!.port;
  });

  after(async () => {
    gw?.kill('SIGKILL');
    registrar.udp?.close();
    registrar.tcp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const calls = async (): Promise<CallsView> => (await (await fetch(`${gw.url}/api/calls`)).json()) as CallsView;

  /** Alive, no call left, and nothing a call held still held — including our client transactions (the BYE that failed). */
  async function settled(what: string): Promise<CallsView> {
    let last: CallsView | undefined;
    await until(async () => {
      if (gw.child.exitCode !== null) return true;
      try {
        last = await calls();
      } catch (err) {
        assert.fail(`the gateway stopped answering (${String(err)}): ${gw.stderr().slice(-2000)}`);
      }
      const h = last.held;
      return last.active.length === 0 && h.rtpPorts === 0 && h.pacerStreams === 0 && h.leases === 0 && h.sipTransactions.client === 0;
    }, `${what}: everything released (last: ${JSON.stringify(last?.held)}, active ${last?.active.length})`, 20_000);
    assert.equal(gw.child.exitCode, null, `the gateway died: ${gw.stderr().slice(-2000)}`);
    assert.doesNotMatch(gw.stderr(), /Unhandled|unhandled rejection/i);
    return last!;
  }

  const target = (t: PeerTransport) => ({ address: gw.sip.address, port: t === 'ws' ? wsPort : gw.sip.port });

  for (const t of ['udp', 'tcp', 'ws'] as const) {
    describe(`over ${t.toUpperCase()}`, () => {
      it('right after the INVITE', async () => {
        const before = await calls();
        const p = await VanishPeer.open(t, target(t));
        p.invite();
        await p.vanish();
        const handled = (c: CallsView) => c.totals.answered + c.totals.refused;
        await until(async () => handled(await calls()) > handled(before), 'the INVITE to be answered');
        await settled('INVITE then gone');
      });

      it('after our 200, with no ACK', async () => {
        const before = await calls();
        const p = await VanishPeer.open(t, target(t));
        p.invite();
        await p.response(200);
        await p.vanish();
        const after = await settled('200 never ACKed');
        // Over UDP the 200 is retransmitted to nobody until the ACK wait (64·T1) ends the dialog;
        // over TCP and WS sending fails at once and the call may end on its RTP timeout first.
        assert.ok((after.totals.ended['ack-timeout'] ?? 0) + (after.totals.ended['rtp-timeout'] ?? 0) > (before.totals.ended['ack-timeout'] ?? 0) + (before.totals.ended['rtp-timeout'] ?? 0));
      });

      it('during our BYE, which is never answered', async () => {
        const p = await VanishPeer.open(t, target(t));
        p.invite();
        const ok = await p.response(200);
        p.inDialog('ACK', ok, { cseq: 1 });
        // No RTP from the caller: the RTP timeout hangs up with our BYE.
        await p.request('BYE');
        await p.vanish();
        await settled('BYE unanswered');
      });

      it('during a re-INVITE: our 200 is never ACKed', async () => {
        const p = await VanishPeer.open(t, target(t));
        p.invite();
        const ok = await p.response(200);
        p.inDialog('ACK', ok, { cseq: 1 });
        const sdp = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 9 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=sendonly', ''].join('\r\n');
        p.inDialog('INVITE', ok, { body: sdp });
        await until(() => p.messages.filter((m) => 'status' in m && m.status === 200).length >= 2, 'the 200 to the re-INVITE');
        await p.vanish();
        await settled('re-INVITE never ACKed');
      });

      for (const refresh of ['UPDATE', 'INVITE'] as const) {
        it(`during our session refresh by ${refresh}, which is never answered`, async () => {
          const p = await VanishPeer.open(t, target(t));
          // refresher=uas: we refresh, at half the 1 s interval.
          p.invite(['Session-Expires: 1;refresher=uas', 'Supported: timer', `Allow: INVITE, ACK, CANCEL, BYE, OPTIONS${refresh === 'UPDATE' ? ', UPDATE' : ''}`]);
          const ok = await p.response(200);
          assert.match(ok.header('session-expires') ?? '', /refresher=uas/);
          p.inDialog('ACK', ok, { cseq: 1 });
          await until(() => p.messages.some((m) => 'method' in m && m.method === refresh && m.cseq.seq > 1), `our refresh ${refresh}`);
          await p.vanish();
          await settled(`refresh ${refresh} unanswered`);
        });
      }

      it('when the peer was to refresh the session and never does', async () => {
        const p = await VanishPeer.open(t, target(t));
        p.invite(['Session-Expires: 1;refresher=uac', 'Supported: timer']);
        const ok = await p.response(200);
        p.inDialog('ACK', ok, { cseq: 1 });
        await p.vanish();
        await settled('session expired');
      });

      it('during CANCEL: the 487 is never ACKed', async () => {
        const p = await VanishPeer.open(t, target(t));
        const invite = p.invite();
        await p.response(100);
        p.cancel(invite);
        await until(() => p.messages.some((m) => 'status' in m && m.cseq.method === 'CANCEL'), 'the answer to CANCEL');
        await p.vanish();
        await settled('CANCEL then gone');
      });

      if (t !== 'udp') {
        it('a connection reset in the middle of a call', async () => {
          const p = await VanishPeer.open(t, target(t));
          p.invite();
          const ok = await p.response(200);
          p.inDialog('ACK', ok, { cseq: 1 });
          await until(async () => (await calls()).active.length > 0, 'the call to be up');
          await p.vanish();
          await settled('connection reset mid-call');
        });
      }
    });
  }

  it('mid-REGISTER: a registrar that stops answering (UDP) or resets (TCP) leaves the gateway up and retrying', async () => {
    // The UDP registrar challenged once and never answered again: the authenticated REGISTER timed out (Timer F)
    // and was retried; the TCP one reset the connection under each REGISTER.
    await until(() => registrar.udpSeen >= 3 && registrar.tcpSeen >= 2, `REGISTER retries (udp ${registrar.udpSeen}, tcp ${registrar.tcpSeen})`, 30_000);
    const replica = (await (await fetch(`${gw.url}/api/replica`)).json()) as { registrations: Array<{ id: string; state: string; failures: number }> };
    for (const r of replica.registrations) {
      assert.notEqual(r.state, 'registered', r.id);
      assert.ok(r.failures >= 1, `${r.id} counted its failures`);
    }
    await settled('registrars gone');
  });
});
