import assert from 'node:assert/strict';
import {
  AesCm, SrtcpContext, SrtpContext, SrtpSession, SRTP_AUTH_FAILED, SRTP_MALFORMED, SRTP_REPLAYED,
  SRTP_KDF_LABEL, deriveSessionKey, estimateRoc, generateKeyingMaterial, type SrtpKeyingMaterial, type SrtpSuiteName,
} from '../../../media/srtp/index.js';
import { writeRtpHeader } from '../../../media/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
// libsrtp's srtp_validate() key and packets (test/srtp_driver.c): RFC 3711 B.3's master key and salt.
const MASTER_KEY = hex('e1f97a0d3e018be0d64fa32c06de4139');
const MASTER_SALT = hex('0ec675ad498afeebb6960b3aabe6');
const keying = (suite: SrtpSuiteName = 'AES_CM_128_HMAC_SHA1_80'): SrtpKeyingMaterial => ({ suite, masterKey: MASTER_KEY, masterSalt: MASTER_SALT });
const RTP_PLAIN = hex('800f1234decafbadcafebabeabababababababababababababababab');
const SRTP_80 = hex('800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb');
const RTCP_PLAIN = hex('81c8000bcafebabeabababababababababababababababab');
const SRTCP_INDEX1 = hex('81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798');

function rtp(seq: number, payload: Buffer, ssrc = 0x11223344, tagRoom = 10): Buffer {
  const b = Buffer.alloc(12 + payload.length + tagRoom);
  writeRtpHeader(b, 0, false, seq, seq * 160, ssrc);
  payload.copy(b, 12);
  return b;
}

describe('SRTP (RFC 3711)', () => {
  it('B.2: the AES-CM keystream for session key 2B7E…, salt F0…FD, SSRC 0, index 0', () => {
    const aes = new AesCm(hex('2b7e151628aed2a6abf7158809cf4f3c'));
    const salt = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfd');
    const ks = Buffer.alloc(0xff02 * 16);
    aes.xor(ks, 0, ks.length, salt, 0, 0, 0); // XOR into zeros = the keystream itself
    const block = (n: number): string => ks.subarray(n * 16, n * 16 + 16).toString('hex').toUpperCase();
    assert.equal(block(0), 'E03EAD0935C95E80E166B16DD92B4EB4');
    assert.equal(block(1), 'D23513162B02D0F72A43A2FE4A5F97AB');
    assert.equal(block(2), '41E95B3BB0A2E8DD477901E4FCA894C0');
    assert.equal(block(0xfeff), 'EC8CDF7398607CB0F2D21675EA9EA1E4');
    assert.equal(block(0xff00), '362B7C3C6773516318A077D7FC5073AE');
    assert.equal(block(0xff01), '6A2CC3787889374FBEB4C81B17BA6C44');
  });

  it('B.3: key derivation of cipher key, salt and auth key (kdr 0, index 0)', () => {
    assert.equal(deriveSessionKey(MASTER_KEY, MASTER_SALT, SRTP_KDF_LABEL.rtpEncryption, 16).toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087');
    assert.equal(deriveSessionKey(MASTER_KEY, MASTER_SALT, SRTP_KDF_LABEL.rtpSalt, 14).toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1');
    assert.equal(deriveSessionKey(MASTER_KEY, MASTER_SALT, SRTP_KDF_LABEL.rtpAuth, 20).toString('hex').toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
  });

  it('protects libsrtp\'s reference packet to its reference SRTP bytes (_80 and _32)', () => {
    const b80 = Buffer.alloc(38);
    RTP_PLAIN.copy(b80);
    assert.equal(new SrtpContext(keying()).protect(b80, 28), 38);
    assert.deepEqual(b80, SRTP_80);
    const b32 = Buffer.alloc(32);
    RTP_PLAIN.copy(b32);
    assert.equal(new SrtpContext(keying('AES_CM_128_HMAC_SHA1_32')).protect(b32, 28), 32);
    assert.deepEqual(b32, SRTP_80.subarray(0, 32));
  });

  it('unprotects the reference SRTP packet in place', () => {
    const b = Buffer.from(SRTP_80);
    assert.equal(new SrtpContext(keying()).unprotect(b), 28);
    assert.deepEqual(b.subarray(0, 28), RTP_PLAIN);
  });

  it('SRTCP: the reference packet (E=1, index 1) both ways', () => {
    const tx = new SrtcpContext(keying());
    tx.protect(RTCP_PLAIN); // index 0
    assert.deepEqual(tx.protect(RTCP_PLAIN), SRTCP_INDEX1);
    const rx = new SrtcpContext(keying());
    const b = Buffer.from(SRTCP_INDEX1);
    assert.equal(rx.unprotect(b), 24);
    assert.deepEqual(b.subarray(0, 24), RTCP_PLAIN);
    assert.equal(rx.unprotect(Buffer.from(SRTCP_INDEX1)), SRTP_REPLAYED);
  });

  it('round trips with fresh keys, both suites, RTP and RTCP, through an SrtpSession pair', () => {
    for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
      const a = generateKeyingMaterial(suite);
      const b = generateKeyingMaterial(suite);
      const alice = new SrtpSession({ local: a, remote: b });
      const bob = new SrtpSession({ local: b, remote: a });
      const payload = Buffer.alloc(160, 0x55);
      const p = rtp(1000, payload, 0x11223344, alice.rtpOut.overhead);
      const n = alice.rtpOut.protect(p, 172);
      assert.equal(n, 172 + (suite.endsWith('80') ? 10 : 4));
      assert.notDeepEqual(p.subarray(12, 172), payload);
      assert.equal(bob.rtpIn.unprotect(p), 172);
      assert.deepEqual(p.subarray(12, 172), payload);
      const rr = Buffer.from('81c90007deadbeef' + '00'.repeat(24), 'hex');
      const s = bob.rtcpOut.protect(rr)!;
      assert.equal(alice.rtcpIn.unprotect(s), rr.length);
      assert.deepEqual(s.subarray(0, rr.length), rr);
    }
  });

  it('rejects a tampered tag, a tampered payload and a packet under the wrong key', () => {
    const k = generateKeyingMaterial('AES_CM_128_HMAC_SHA1_80');
    const tx = new SrtpContext(k);
    const rx = new SrtpContext(k);
    const p1 = rtp(1, Buffer.alloc(160, 1));
    tx.protect(p1, 172);
    const tag = Buffer.from(p1); tag[tag.length - 1]! ^= 1;
    assert.equal(rx.unprotect(tag), SRTP_AUTH_FAILED);
    const body = Buffer.from(p1); body[20]! ^= 0x80;
    assert.equal(rx.unprotect(body), SRTP_AUTH_FAILED);
    assert.equal(new SrtpContext(generateKeyingMaterial('AES_CM_128_HMAC_SHA1_80')).unprotect(Buffer.from(p1)), SRTP_AUTH_FAILED);
    // A failed packet moved nothing: the genuine one still authenticates.
    assert.equal(rx.unprotect(p1), 172);
  });

  it('rejects a replayed packet and one older than the 64-packet window, accepts reordering inside it', () => {
    const k = generateKeyingMaterial('AES_CM_128_HMAC_SHA1_80');
    const tx = new SrtpContext(k);
    const rx = new SrtpContext(k);
    const sent = new Map<number, Buffer>();
    for (let seq = 100; seq < 300; seq++) {
      const p = rtp(seq, Buffer.alloc(20, seq & 0xff));
      tx.protect(p, 32);
      sent.set(seq, p.subarray(0, 42));
    }
    for (let seq = 100; seq < 200; seq++) if (seq !== 150) assert.equal(rx.unprotect(Buffer.from(sent.get(seq)!)), 32);
    assert.equal(rx.unprotect(Buffer.from(sent.get(199)!)), SRTP_REPLAYED);
    assert.equal(rx.unprotect(Buffer.from(sent.get(150)!)), 32, 'late but inside the window');
    assert.equal(rx.unprotect(Buffer.from(sent.get(150)!)), SRTP_REPLAYED);
    assert.equal(rx.unprotect(Buffer.from(sent.get(250)!)), 32);
    assert.equal(rx.unprotect(Buffer.from(sent.get(180)!)), SRTP_REPLAYED, '70 behind the newest: outside the window');
    assert.equal(rx.unprotect(Buffer.from(sent.get(190)!)), SRTP_REPLAYED, 'inside the window and already seen');
    assert.equal(rx.unprotect(Buffer.from(sent.get(200)!)), 32, 'inside the window, never seen');
  });

  it('carries the ROC across the sequence wrap 65535 → 0, also with reordering around it', () => {
    const k = generateKeyingMaterial('AES_CM_128_HMAC_SHA1_32');
    const tx = new SrtpContext(k);
    const rx = new SrtpContext(k);
    const pkts: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const seq = (65530 + i) & 0xffff;
      const p = rtp(seq, Buffer.from([i, i, i, i]), 7, 4);
      tx.protect(p, 16);
      pkts.push(p);
    }
    // 65530..65535 in order, then 1 (after the wrap), then 0 and 65535's neighbour late.
    for (let i = 0; i < 6; i++) assert.equal(rx.unprotect(Buffer.from(pkts[i]!)), 16);
    const after = Buffer.from(pkts[7]!);
    assert.equal(rx.unprotect(after), 16);
    assert.deepEqual(after.subarray(12, 16), Buffer.from([7, 7, 7, 7]));
    const zero = Buffer.from(pkts[6]!);
    assert.equal(rx.unprotect(zero), 16);
    assert.deepEqual(zero.subarray(12, 16), Buffer.from([6, 6, 6, 6]));
    for (let i = 8; i < 20; i++) {
      const p = Buffer.from(pkts[i]!);
      assert.equal(rx.unprotect(p), 16);
      assert.equal(p[12], i);
    }
    // A packet from ROC 0 protected as if ROC were 1 would not authenticate: the ROC is in the tag.
    assert.equal(estimateRoc(1, 5, 65500), 0);
    assert.equal(estimateRoc(0, 65530, 3), 1);
    assert.equal(estimateRoc(3, 40000, 41000), 3);
  });

  it('garbage never throws: short, wrong version, truncated CSRC/extension, empty', () => {
    const rx = new SrtpContext(generateKeyingMaterial('AES_CM_128_HMAC_SHA1_80'));
    const rtcpRx = new SrtcpContext(generateKeyingMaterial('AES_CM_128_HMAC_SHA1_80'));
    const junk = [Buffer.alloc(0), Buffer.alloc(5), Buffer.alloc(21, 0x80), hex('8f00000100000000000000000000000000000000000000'),
      hex('9000000100000000000000000000000000000000ffff00'), Buffer.alloc(40, 0x40)];
    for (const j of junk) {
      assert.equal(rx.unprotect(Buffer.from(j)) < 0, true, j.toString('hex'));
      assert.equal(rtcpRx.unprotect(Buffer.from(j)) < 0, true, j.toString('hex'));
    }
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(Math.floor(Math.random() * 200));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(Math.random() * 256);
      if (b.length) b[0] = 0x80 | (b[0]! & 0x3f);
      assert.ok(rx.unprotect(b) < 0);
      assert.ok(rtcpRx.unprotect(Buffer.from(b)) < 0);
    }
    assert.equal(new SrtpContext(generateKeyingMaterial('AES_CM_128_HMAC_SHA1_80')).protect(Buffer.alloc(12), 12), SRTP_MALFORMED, 'no room for the tag');
  });
});
