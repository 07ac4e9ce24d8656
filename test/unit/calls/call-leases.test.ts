import assert from 'node:assert/strict';
import type { AgentUpstreams } from '../../../src/agent/index.js';
import { CallEndedError } from '../../../src/calls/index.js';
import { CallLeases } from '../../../src/calls/call-leases.js';
import type { LeaseSource, PooledConnection } from '../../../src/pools/index.js';

/** A pool that never has a connection free: every acquisition waits until its signal aborts, and rejects with its reason. */
function waitingSource(): LeaseSource<PooledConnection> {
  return {
    acquire: (o) => new Promise((_resolve, reject) => {
      o?.signal?.addEventListener('abort', () => reject(o.signal!.reason as Error), { once: true });
    }),
  };
}

function ledger(): CallLeases {
  const s = waitingSource();
  return new CallLeases({ asr: s, tts: s, llm: s, crm: s } as unknown as AgentUpstreams);
}

describe('calls: the lease ledger stops what a call still waits for with WL_ERR_CALL_ENDED', () => {
  it('a waiting acquisition, with or without a signal of its own, and one asked after the end, all reject with the one catalogued reason', async () => {
    const a = ledger();
    const b = ledger();
    const own = new AbortController();
    const waiting = [a.upstreams.asr.acquire(), a.upstreams.llm.acquire({ signal: own.signal }), b.upstreams.tts.acquire()];
    for (const p of waiting) p.catch(() => undefined);
    a.close();
    b.close();
    const reasons = await Promise.all(waiting.map((p) => p.then(() => undefined, (err: unknown) => err)));
    const late = await a.upstreams.crm.acquire().then(() => undefined, (err: unknown) => err);
    for (const r of [...reasons, late]) {
      assert.ok(r instanceof CallEndedError, String(r));
      assert.equal(r.code, 'WL_ERR_CALL_ENDED');
      assert.equal(r.message, 'the call ended');
    }
    // Every call ends this way: one instance, built once, no stack trace captured per call.
    assert.ok(reasons.every((r) => r === late), 'the same instance for every call');
  });

  it('an acquisition aborted by its own signal keeps that signal\'s reason', async () => {
    const own = new AbortController();
    const waiting = ledger().upstreams.llm.acquire({ signal: own.signal });
    const mine = new Error('the turn moved on');
    own.abort(mine);
    await assert.rejects(waiting, (err: unknown) => err === mine);
  });
});
