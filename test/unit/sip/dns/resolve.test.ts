import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { resolveSipTargets, orderSrv, withFailover, SipDnsError, type DnsLookups } from '../../../../sip/dns/index.js';

type Zone = { naptr?: Record<string, Awaited<ReturnType<DnsLookups['resolveNaptr']>>>; srv?: Record<string, Awaited<ReturnType<DnsLookups['resolveSrv']>>>; a?: Record<string, string[]>; aaaa?: Record<string, string[]> };
function lookups(z: Zone, calls: string[] = []): DnsLookups {
  const get = <T>(kind: string, m: Record<string, T[]> | undefined, n: string): Promise<T[]> => {
    calls.push(`${kind} ${n}`);
    const v = m?.[n];
    return v ? Promise.resolve(v) : Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }));
  };
  return { resolveNaptr: (n) => get('NAPTR', z.naptr, n), resolveSrv: (n) => get('SRV', z.srv, n), resolve4: (n) => get('A', z.a, n), resolve6: (n) => get('AAAA', z.aaaa, n) };
}

describe('sip/dns RFC 3263', () => {
  it('numeric host skips every lookup; explicit port does only A/AAAA', async () => {
    const calls: string[] = [];
    const dns = lookups({ a: { 'sip.example.com': ['127.0.0.5'] } }, calls);
    assert.deepEqual(await resolveSipTargets({ host: '[::1]' }, dns), [{ transport: 'udp', address: '::1', port: 5060, family: 6 }]);
    assert.deepEqual(await resolveSipTargets({ host: '127.0.0.9', secure: true }, dns), [{ transport: 'tls', address: '127.0.0.9', port: 5061, family: 4 }]);
    assert.deepEqual(calls, []);
    assert.deepEqual(await resolveSipTargets({ host: 'sip.example.com', port: 5080, transport: 'tcp' }, dns), [{ transport: 'tcp', address: '127.0.0.5', port: 5080, family: 4 }]);
    assert.deepEqual(calls.sort(), ['A sip.example.com', 'AAAA sip.example.com']);
  });

  it('NAPTR → SRV → A/AAAA in NAPTR order, SRV priority honoured', async () => {
    const dns = lookups({
      naptr: { 'example.com': [
        { flags: 'S', service: 'SIP+D2U', regexp: '', replacement: '_sip._udp.example.com', order: 20, preference: 0 },
        { flags: 'S', service: 'SIP+D2T', regexp: '', replacement: '_sip._tcp.example.com', order: 10, preference: 0 },
        { flags: 'S', service: 'SIP+D2X', regexp: '', replacement: '_x.example.com', order: 1, preference: 0 },
      ] },
      srv: { '_sip._tcp.example.com': [{ priority: 20, weight: 0, port: 5070, name: 'b.example.com' }, { priority: 10, weight: 0, port: 5060, name: 'a.example.com' }], '_sip._udp.example.com': [{ priority: 0, weight: 0, port: 5062, name: 'a.example.com' }] },
      a: { 'a.example.com': ['127.0.0.1'], 'b.example.com': ['127.0.0.2'] },
      aaaa: { 'b.example.com': ['::1'] },
    });
    const t = await resolveSipTargets({ host: 'example.com' }, dns);
    assert.deepEqual(t.map((x) => `${x.transport}:${x.address}:${x.port}`), ['tcp:127.0.0.1:5060', 'tcp:127.0.0.2:5070', 'tcp:::1:5070', 'udp:127.0.0.1:5062']);
  });

  it('no NAPTR: SRV per transport, then plain A with the default port; nothing → typed error', async () => {
    const dns = lookups({ srv: { '_sip._tcp.t.example': [{ priority: 1, weight: 1, port: 5090, name: 'h.t.example' }] }, a: { 'h.t.example': ['127.0.0.3'], 'plain.example': ['127.0.0.4'] } });
    assert.deepEqual(await resolveSipTargets({ host: 't.example' }, dns), [{ transport: 'tcp', address: '127.0.0.3', port: 5090, family: 4 }]);
    assert.deepEqual(await resolveSipTargets({ host: 'plain.example', secure: true }, dns), [{ transport: 'tls', address: '127.0.0.4', port: 5061, family: 4 }]);
    await assert.rejects(resolveSipTargets({ host: 'nothing.example' }, dns), (e: unknown) => e instanceof SipDnsError && e.code === 'SIP_ERR_DNS_NO_TARGETS');
    await assert.rejects(resolveSipTargets({ host: '' }, dns), (e: unknown) => e instanceof SipDnsError && e.code === 'SIP_ERR_DNS_BAD_URI');
  });

  it('SRV weights: heavier record first in proportion (RFC 2782)', () => {
    const recs = [{ priority: 1, weight: 90, id: 'heavy' }, { priority: 1, weight: 10, id: 'light' }, { priority: 0, weight: 0, id: 'first' }];
    let seq = 0;
    const rnd = () => ((seq = (seq * 9301 + 49297) % 233280) / 233280);
    let heavyFirst = 0;
    for (let i = 0; i < 1000; i++) {
      const o = orderSrv(recs, rnd);
      assert.equal(o[0]!.id, 'first');
      assert.equal(o.length, 3);
      if (o[1]!.id === 'heavy') heavyFirst++;
    }
    assert.ok(heavyFirst > 800 && heavyFirst < 980, `heavy first ${heavyFirst}/1000`);
  });

  it('fails over on a thrown timeout and on 503, stops on a usable answer', async () => {
    const targets = [1, 2, 3, 4].map((i) => ({ transport: 'udp' as const, address: `127.0.0.${i}`, port: 5060, family: 4 as const }));
    const seen: string[] = [];
    const r = await withFailover(targets, async (t) => {
      seen.push(t.address);
      if (t.address === '127.0.0.1') throw new Error('timeout');
      return t.address === '127.0.0.2' ? 503 : 200;
    }, (s) => s === 503);
    assert.deepEqual(seen, ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    assert.equal(r.result, 200);
    assert.equal(r.tried, 3);
    await assert.rejects(withFailover(targets, () => Promise.reject(new Error('down')), () => false), (e: unknown) => e instanceof SipDnsError && e.code === 'SIP_ERR_ALL_TARGETS_FAILED');
  });

  describe('against a real UDP DNS server on 127.0.0.1', () => {
    let sock: Socket;
    let port = 0;
    before(async () => {
      sock = createSocket('udp4');
      sock.on('message', (q, rinfo) => sock.send(answer(q), rinfo.port, rinfo.address));
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
      port = sock.address().port;
    });
    after(() => new Promise<void>((r) => sock.close(() => r())));

    it('resolves SRV then A through node:dns Resolver', async () => {
      const res = new Resolver({ timeout: 2000, tries: 2 });
      res.setServers([`127.0.0.1:${port}`]);
      const t = await resolveSipTargets({ host: 'carrier.test', transport: 'udp' }, res);
      assert.deepEqual(t, [{ transport: 'udp', address: '127.0.0.77', port: 5099, family: 4 }]);
    });
  });
});

// Minimal authoritative answers: SRV _sip._udp.carrier.test → pbx.carrier.test:5099, A pbx.carrier.test → 127.0.0.77; else NXDOMAIN.
function answer(q: Buffer): Buffer {
  let i = 12;
  const labels: string[] = [];
  while (q[i]! !== 0) { labels.push(q.subarray(i + 1, i + 1 + q[i]!).toString()); i += q[i]! + 1; }
  const qEnd = i + 5;
  const name = labels.join('.').toLowerCase();
  const type = q.readUInt16BE(i + 1);
  const question = q.subarray(12, qEnd);
  let rdata: Buffer | undefined;
  if (type === 33 && name === '_sip._udp.carrier.test') {
    const target = Buffer.concat([...'pbx.carrier.test'.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
    const h = Buffer.alloc(6); h.writeUInt16BE(0, 0); h.writeUInt16BE(0, 2); h.writeUInt16BE(5099, 4);
    rdata = Buffer.concat([h, target]);
  } else if (type === 1 && name === 'pbx.carrier.test') rdata = Buffer.from([127, 0, 0, 77]);
  const hdr = Buffer.alloc(12);
  q.copy(hdr, 0, 0, 2);
  hdr.writeUInt16BE(0x8400 | (rdata ? 0 : 3), 2);
  hdr.writeUInt16BE(1, 4); hdr.writeUInt16BE(rdata ? 1 : 0, 6);
  if (!rdata) return Buffer.concat([hdr, question]);
  const rr = Buffer.alloc(12); rr.writeUInt16BE(0xc00c, 0); rr.writeUInt16BE(type, 2); rr.writeUInt16BE(1, 4); rr.writeUInt32BE(60, 6); rr.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([hdr, question, rr, rdata]);
}
