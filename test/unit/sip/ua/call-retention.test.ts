import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SipResponse, TcpTransport, UserAgent, type IncomingCall, type SipRequest } from '../../../../sip/index.js';
import { until } from '../../../support/wait.js';
import { options, SDP, StreamPeer } from '../transport/stream-peer.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

/**
 * bench:sip found 179 MB of heap still held after 10,000 finished calls: the
 * UA kept every ended call for 64·T1, and transactions kept their requests
 * and responses. A finished call must be collectable at once; only the
 * transactions' absorb-retransmissions state remains.
 */
describe('sip/ua: a finished call is not retained', function () {
  this.timeout(20_000);

  it('after BYE the call and its INVITE are collectable while the transactions still absorb retransmissions', async () => {
    const tcp = await TcpTransport.bind('127.0.0.1', 0);
    const ua = new UserAgent({ transport: tcp });
    let callRef: WeakRef<IncomingCall> | undefined;
    let inviteRef: WeakRef<SipRequest> | undefined;
    let ended = false;
    ua.on('invite', (c) => {
      callRef = new WeakRef(c);
      inviteRef = new WeakRef(c.invite);
      c.once('ended', () => { ended = true; });
      void c.answer(SDP).catch(() => undefined);
    });
    const s = connect({ host: '127.0.0.1', port: tcp.local.port });
    try {
      await once(s, 'connect');
      const p = new StreamPeer(s);
      const port = s.localPort!;
      await p.write(options('retained', port, 'TCP', { method: 'INVITE', body: SDP }));
      await until(() => p.messages.some((m) => m instanceof SipResponse && m.status === 200), 'the 200');
      const ok = p.messages.find((m): m is SipResponse => m instanceof SipResponse && m.status === 200)!;
      const inDialog = (method: string, seq: number) => `${method} ${ok.contact[0]!.uri} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:${port};branch=z9hG4bK-${method}${seq}\r\nFrom: <sip:tester@127.0.0.1>;tag=t-retained\r\nTo: ${ok.header('to')}\r\nCall-ID: retained\r\nCSeq: ${seq} ${method}\r\nContent-Length: 0\r\n\r\n`;
      await p.write(inDialog('ACK', 1));
      await p.write(inDialog('BYE', 2));
      await until(() => ended, 'the call to end');
      assert.equal(ua.activeCalls, 0);
      // WeakRef targets live until the current job ends: let it end, then collect.
      await new Promise((r) => setImmediate(r));
      gc();
      assert.equal(callRef!.deref(), undefined, 'the ended call was collected');
      assert.equal(inviteRef!.deref(), undefined, 'the INVITE was collected although its transaction is in Accepted (Timer L)');
    } finally {
      s.destroy();
      await ua.close();
      await tcp.close();
    }
  });
});
