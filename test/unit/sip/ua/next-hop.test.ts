import assert from 'node:assert/strict';
import { nextHop, type UacDialogState } from '../../../../sip/ua/uac-requests.js';
import type { Destination } from '../../../../sip/transport/transport.js';

/** §12.2.1.1 / §8.1.2: where a request inside a dialog we placed goes. */
describe('nextHop: in-dialog requests of an outgoing call', () => {
  const dialog = (routeSet: string[], remoteTarget = 'sip:callee@192.0.2.9:5070'): UacDialogState =>
    ({ remoteTag: 't', remote: '<sip:callee@example.test>;tag=t', remoteTarget, routeSet });
  const trunkTls: Destination = { address: '127.0.0.1', port: 5061, transport: 'TLS', tls: { serverName: 'registrar.test', ca: 'PEM' } };

  it('goes to the first route (a Record-Route) when the route set is not empty, else to the remote target', () => {
    const viaProxy = nextHop(dialog(['<sip:127.0.0.2:5080;lr>']), { address: '127.0.0.1', port: 5060 });
    assert.deepEqual(viaProxy, { address: '127.0.0.2', port: 5080 });
    const direct = nextHop(dialog([]), { address: '127.0.0.1', port: 5060, transport: 'UDP' });
    assert.deepEqual(direct, { address: '192.0.2.9', port: 5070, transport: 'UDP' });
  });

  it('a TLS hop named by IP keeps the trunk\'s TLS settings (the name to verify, the CA)', () => {
    const hop = nextHop(dialog(['<sip:127.0.0.3:5061;transport=tls;lr>']), trunkTls);
    assert.equal(hop.transport, 'TLS');
    assert.equal(hop.address, '127.0.0.3');
    assert.deepEqual(hop.tls, trunkTls.tls, 'without them a new TLS connection would verify the IP and trust no configured CA');
    const plain = nextHop(dialog(['<sip:127.0.0.3:5060;transport=udp;lr>']), trunkTls);
    assert.equal(plain.tls, undefined, 'a hop that is not TLS carries no TLS settings');
    assert.equal(plain.transport, 'UDP');
  });

  it('a route named by host name keeps the destination the INVITE went to (the proxy routes it)', () => {
    assert.deepEqual(nextHop(dialog(['<sip:proxy.example.test;lr>']), trunkTls), trunkTls);
  });

  it('the default port follows the transport: 5061 for TLS, 5060 otherwise', () => {
    assert.equal(nextHop(dialog(['<sip:127.0.0.4;transport=tls;lr>']), trunkTls).port, 5061);
    assert.equal(nextHop(dialog(['<sip:127.0.0.4;lr>']), { address: '127.0.0.1', port: 5060 }).port, 5060);
  });
});
