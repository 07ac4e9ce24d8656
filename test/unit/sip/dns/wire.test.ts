import assert from 'node:assert/strict';
import { decodeAnswer, parseDnsServer } from '../../../../sip/dns/wire.js';

const name = (...labels: string[]) => Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const header = (id: number, flags: number, qd: number, an: number, ns: number) => Buffer.concat([u16(id), u16(flags), u16(qd), u16(an), u16(ns), u16(0)]);
const rr = (owner: Buffer, type: number, ttl: number, rdata: Buffer) => Buffer.concat([owner, u16(type), u16(1), u32(ttl), u16(rdata.length), rdata]);

describe('sip/dns wire format', () => {
  const question = Buffer.concat([name('_sip', '_udp', 'x', 'test'), u16(33), u16(1)]);

  it('decodes SRV answers with compressed names, the TTL being the smallest of the records', () => {
    // 0xc00c points at the question's name; testOffset at its last label, "test".
    const testOffset = 12 + 5 + 5 + 2; // "_sip" (5) "_udp" (5) "x" (2): "test" starts here
    const target = Buffer.concat([Buffer.from([1]), Buffer.from('a'), u16(0xc000 | testOffset)]);
    const srv1 = Buffer.concat([u16(10), u16(5), u16(5060), target]);
    const srv2 = Buffer.concat([u16(20), u16(0), u16(5070), u16(0xc000 | testOffset)]);
    const buf = Buffer.concat([header(0x1234, 0x8180, 1, 2, 0), question, rr(u16(0xc00c), 33, 300, srv1), rr(u16(0xc00c), 33, 120, srv2)]);
    const a = decodeAnswer(buf, 0x1234, 'SRV', 30);
    assert.deepEqual(a.records, [{ priority: 10, weight: 5, port: 5060, name: 'a.test' }, { priority: 20, weight: 0, port: 5070, name: 'test' }]);
    assert.equal(a.ttl, 120);
    assert.equal(a.truncated, false);
  });

  it('a negative answer lives for min(SOA TTL, SOA minimum); without SOA for the default', () => {
    const soa = Buffer.concat([name('ns', 'test'), name('host', 'test'), u32(1), u32(2), u32(3), u32(4), u32(45)]);
    const nx = Buffer.concat([header(7, 0x8183, 1, 0, 1), question, rr(name('test'), 6, 600, soa)]);
    assert.deepEqual(decodeAnswer(nx, 7, 'SRV', 30), { records: [], ttl: 45, truncated: false });
    const nodata = Buffer.concat([header(7, 0x8180, 1, 0, 0), question]);
    assert.equal(decodeAnswer(nodata, 7, 'SRV', 30).ttl, 30);
  });

  it('refuses another id, a server failure and a compression loop', () => {
    const ok = Buffer.concat([header(9, 0x8180, 1, 0, 0), question]);
    assert.throws(() => decodeAnswer(ok, 10, 'SRV', 30), /not the answer/);
    assert.throws(() => decodeAnswer(Buffer.concat([header(9, 0x8182, 1, 0, 0), question]), 9, 'SRV', 30), /rcode 2/);
    const loop = Buffer.concat([header(9, 0x8180, 1, 1, 0), question, rr(u16(0xc000 | (12 + question.length)), 1, 60, Buffer.from([127, 0, 0, 1]))]);
    assert.throws(() => decodeAnswer(loop, 9, 'A', 30), /loop/);
  });

  it('reads DNS server addresses with and without a port', () => {
    assert.deepEqual(parseDnsServer('127.0.0.1'), { address: '127.0.0.1', port: 53 });
    assert.deepEqual(parseDnsServer('127.0.0.1:5353'), { address: '127.0.0.1', port: 5353 });
    assert.deepEqual(parseDnsServer('::1'), { address: '::1', port: 53 });
    assert.deepEqual(parseDnsServer('[::1]:5353'), { address: '::1', port: 5353 });
    assert.throws(() => parseDnsServer('dns.example.com'), (e: unknown) => (e as { code?: string }).code === 'SIP_ERR_DNS_QUERY');
  });
});
