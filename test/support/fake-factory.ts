import { EventEmitter } from 'node:events';
import type { ConnectionFactory, PooledConnection } from '../../src/pools/index.js';

/**
 * The injected factory of the pool engine's unit tests (undici's tests do the
 * same): connections whose behaviour each test controls. Real-socket
 * behaviour is tested through the connectors against the local upstreams.
 */
export class FakeConnection extends EventEmitter implements PooledConnection {
  static seq = 0;
  readonly id = `fake-${++FakeConnection.seq}`;
  usable = true;
  keepalives = 0;
  resets: string[] = [];
  closed = false;
  constructor(readonly capacity: number, private readonly factory: FakeFactory) {
    super();
  }
  async keepalive(): Promise<void> {
    this.keepalives++;
    if (this.factory.keepaliveFails) throw new Error('keepalive refused');
    if (this.factory.keepaliveHangs) await new Promise(() => {});
  }
  async reset(leaseId: string): Promise<boolean> {
    this.resets.push(leaseId);
    return this.factory.resetClean;
  }
  async close(): Promise<void> {
    this.#gone();
  }
  destroy(): void {
    this.#gone();
  }
  /** The peer closes the connection. */
  peerClose(): void {
    this.usable = false;
    this.closed = true;
    this.emit('close', new Error('peer closed'));
  }
  #gone(): void {
    if (this.closed) return;
    this.closed = true;
    this.usable = false;
    this.emit('close');
  }
}

export class PermanentError extends Error {
  readonly permanent = true as const;
}

export class FakeFactory implements ConnectionFactory<FakeConnection> {
  readonly upstream = 'fake';
  attempts = 0;
  opened: FakeConnection[] = [];
  failWith: Error | undefined;
  keepaliveFails = false;
  keepaliveHangs = false;
  resetClean = true;
  openDelayMs = 0;
  constructor(readonly key = 'fake:default', readonly capacity = 1) {}
  async open(signal: AbortSignal): Promise<FakeConnection> {
    this.attempts++;
    if (this.openDelayMs) await new Promise((r) => setTimeout(r, this.openDelayMs));
    signal.throwIfAborted();
    if (this.failWith) throw this.failWith;
    const c = new FakeConnection(this.capacity, this);
    this.opened.push(c);
    return c;
  }
  get live(): FakeConnection[] {
    return this.opened.filter((c) => !c.closed);
  }
}

export { sleep, until } from './wait.js';
