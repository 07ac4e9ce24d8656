import assert from 'node:assert/strict';
import { DigestClient, DigestServer, DigestError, digestResponse, parseDigestParams } from '../../../../sip/digest/index.js';

describe('sip/digest', () => {
  it('computes the RFC 7616 §3.9.1 MD5 and SHA-256 examples', () => {
    const base = { username: 'Mufasa', realm: 'http-auth@example.org', password: 'Circle of Life', method: 'GET', uri: '/dir/index.html', nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', qop: 'auth' as const, nc: '00000001', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' };
    assert.equal(digestResponse({ ...base, algorithm: 'MD5' }), '8ca523f5e9506fed4657c9700eebdbec');
    assert.equal(digestResponse({ ...base, algorithm: 'SHA-256' }), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('computes the RFC 2617 §3.5 example', () => {
    assert.equal(digestResponse({ algorithm: 'MD5', username: 'Mufasa', realm: 'testrealm@host.com', password: 'Circle Of Life', method: 'GET', uri: '/dir/index.html', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', qop: 'auth', nc: '00000001', cnonce: '0a4f113b' }), '6629fae49393a05397450978507c4ef1');
  });

  it('parses quoted values with commas and escapes, and rejects garbage with a typed error', () => {
    const p = parseDigestParams('Digest realm="a, \\"b\\"", qop="auth,auth-int", nonce=abc ,stale=TRUE');
    assert.equal(p.get('realm'), 'a, "b"');
    assert.equal(p.get('qop'), 'auth,auth-int');
    assert.equal(p.get('nonce'), 'abc');
    assert.equal(p.get('stale'), 'TRUE');
    assert.throws(() => parseDigestParams('Basic abc'), (e: unknown) => e instanceof DigestError && e.code === 'SIP_ERR_DIGEST_PARSE');
    assert.throws(() => parseDigestParams('Digest realm="open'), (e: unknown) => e instanceof DigestError && e.code === 'SIP_ERR_DIGEST_PARSE');
    const c = new DigestClient({ username: 'u', password: 'p' });
    assert.throws(() => c.answer(401, 'Digest realm="r", nonce="n", algorithm=SHA-512-256', 'REGISTER', 'sip:r'), (e: unknown) => e instanceof DigestError && e.code === 'SIP_ERR_DIGEST_ALGORITHM');
  });

  for (const algorithm of ['MD5', 'SHA-256', 'MD5-sess', 'SHA-256-sess'] as const) {
    it(`client and server agree (${algorithm}), nc counts per nonce, replay is refused`, () => {
      const server = new DigestServer({ realm: 'warmline', algorithm, lookup: (u) => (u === 'alice' ? 's3cret' : undefined) });
      const client = new DigestClient({ username: 'alice', password: 's3cret' });
      const ch = server.challenge();
      const a = client.answer(401, ch, 'REGISTER', 'sip:warmline');
      assert.equal(a.kind, 'retry');
      if (a.kind !== 'retry') return;
      assert.equal(a.header, 'Authorization');
      assert.match(a.value, /nc=00000001/);
      assert.deepEqual(server.verify(a.value, 'REGISTER'), { ok: true, username: 'alice' });
      assert.deepEqual(server.verify(a.value, 'REGISTER'), { ok: false, stale: false, reason: 'replay' });
      assert.equal(server.verify(a.value, 'INVITE').ok, false, 'method is covered by the response');
      client.accepted();
      const b = client.answer(407, ch, 'INVITE', 'sip:bob@warmline');
      assert.ok(b.kind === 'retry' && b.header === 'Proxy-Authorization' && /nc=00000002/.test(b.value));
      if (b.kind === 'retry') assert.deepEqual(server.verify(b.value, 'INVITE'), { ok: true, username: 'alice' });
    });
  }

  it('wrong password: server refuses, client reports refused credentials on the second non-stale challenge', () => {
    const server = new DigestServer({ realm: 'warmline', lookup: () => 'right' });
    const client = new DigestClient({ username: 'bob', password: 'wrong' });
    const a = client.answer(401, server.challenge(), 'REGISTER', 'sip:warmline');
    assert.ok(a.kind === 'retry');
    if (a.kind === 'retry') assert.deepEqual(server.verify(a.value, 'REGISTER'), { ok: false, stale: false, reason: 'bad-response' });
    assert.deepEqual(client.answer(401, server.challenge(), 'REGISTER', 'sip:warmline'), { kind: 'rejected', reason: 'credentials-refused' });
  });

  it('expired nonce gives stale, and the client retries without counting it as refused', () => {
    let t = 1_000_000;
    const server = new DigestServer({ realm: 'warmline', nonceTtlMs: 1000, lookup: () => 'pw', now: () => t });
    const client = new DigestClient({ username: 'carol', password: 'pw' });
    const a = client.answer(401, server.challenge(), 'REGISTER', 'sip:warmline');
    t += 5000;
    assert.ok(a.kind === 'retry');
    if (a.kind !== 'retry') return;
    const v = server.verify(a.value, 'REGISTER');
    assert.deepEqual(v, { ok: false, stale: true, reason: 'expired' });
    const b = client.answer(401, server.challenge(true), 'REGISTER', 'sip:warmline');
    assert.ok(b.kind === 'retry' && b.stale);
    if (b.kind === 'retry') assert.deepEqual(server.verify(b.value, 'REGISTER'), { ok: true, username: 'carol' });
  });

  it('forged nonce, unknown user, wrong realm and missing header are refused', () => {
    const server = new DigestServer({ realm: 'warmline', lookup: (u) => (u === 'a' ? 'p' : undefined) });
    const other = new DigestServer({ realm: 'warmline', lookup: () => 'p' });
    const mk = (ch: string, user = 'a', realm?: string) => {
      const r = new DigestClient({ username: user, password: 'p', ...(realm ? { realm } : {}) }).answer(401, ch, 'REGISTER', 'sip:x');
      return r.kind === 'retry' ? r.value : '';
    };
    assert.equal((server.verify(mk(other.challenge()), 'REGISTER') as { reason: string }).reason, 'bad-nonce');
    assert.equal((server.verify(mk(server.challenge(), 'zed'), 'REGISTER') as { reason: string }).reason, 'unknown-user');
    assert.equal((server.verify(undefined, 'REGISTER') as { reason: string }).reason, 'missing');
    assert.equal((server.verify('Digest garbage', 'REGISTER') as { reason: string }).reason, 'malformed');
    assert.deepEqual(new DigestClient({ username: 'a', password: 'p', realm: 'other' }).answer(401, server.challenge(), 'REGISTER', 'sip:x'), { kind: 'rejected', reason: 'realm-mismatch' });
  });

  it('bounds nonce tracking memory', () => {
    const server = new DigestServer({ realm: 'r', lookup: () => 'p', maxTrackedNonces: 3 });
    for (let i = 0; i < 10; i++) {
      const a = new DigestClient({ username: 'u', password: 'p' }).answer(401, server.challenge(), 'REGISTER', 'sip:r');
      assert.ok(a.kind === 'retry' && server.verify(a.value, 'REGISTER').ok);
    }
    assert.equal((server as unknown as { seen: Map<string, number> }).seen.size, 3);
  });
});
