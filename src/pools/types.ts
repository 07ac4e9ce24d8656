/**
 * The contract between the pool engine (src/pools) and the connectors that open
 * upstream connections (src/upstreams). The pool knows nothing of any protocol:
 * it opens through a factory, keeps connections warm through `keepalive()`,
 * cleans them through `reset()`, and listens for `close`.
 */

/** One open upstream connection, as the pool sees it. */
export interface PooledConnection {
  /** Unique for the life of the process; used in logs and metrics. */
  readonly id: string;
  /**
   * How many leases this connection carries at once: 1 for an exclusive socket
   * (an ASR stream, a single-stream TTS socket), N for a multiplexed one
   * (HTTP/2 streams on a session, TTS contexts on a multi-context socket).
   */
  readonly capacity: number;
  /** False once the connection is closing, closed or known broken. */
  readonly usable: boolean;
  /**
   * Sends the provider's keepalive (Deepgram `{"type":"KeepAlive"}`, ElevenLabs
   * `" "`, HTTP/2 PING) and resolves when it was written (or answered, where the
   * protocol answers). Rejects when the connection is gone. Called by the pool,
   * out of band, on connections that carry no lease.
   */
  keepalive(): Promise<void>;
  /**
   * Called when a lease on this connection ends: finalize what the lease left
   * (finish the ASR stream, close the TTS context). Resolves true when the
   * connection is clean and may be handed out again; false (or a rejection)
   * makes the pool destroy it and open a replacement in the background.
   */
  reset(leaseId: string): Promise<boolean>;
  /** Graceful close: let in-flight work finish, then close. Idempotent. */
  close(): Promise<void>;
  /** Immediate teardown. Idempotent. */
  destroy(reason?: Error): void;
  /**
   * `close` is emitted exactly once when the connection is gone; `cause` is set
   * when it was not asked to close (peer closed it, socket error, ping timeout).
   */
  on(event: 'close', listener: (cause?: Error) => void): this;
  off(event: 'close', listener: (cause?: Error) => void): this;
}

/** Opens connections with one set of connection parameters. */
export interface ConnectionFactory<C extends PooledConnection> {
  /** Which upstream this is (asr, tts, llm, crm): a metrics label. */
  readonly upstream: string;
  /**
   * Stable key of the connection parameters (provider, URL, model, language,
   * encoding, voice…). A connection opened for one key is never handed to another.
   */
  readonly key: string;
  /** Opens, authenticates and readies one connection. Honours `signal`. */
  open(signal: AbortSignal): Promise<C>;
}

/**
 * An error from `open()` that retrying will not fix (a rejected API key, a
 * forbidden model). The pool stops its fast retries and backs off to its
 * longest interval, logging the error once per state change, not per attempt.
 */
export interface PermanentOpenError extends Error {
  readonly permanent: true;
}

export function isPermanentOpenError(err: unknown): err is PermanentOpenError {
  return err instanceof Error && (err as { permanent?: unknown }).permanent === true;
}

/**
 * A slot of a provider's global concurrency cap. The pool holds one for every
 * connection it has open (warm or in use) and opens a connection only while it
 * holds one. The pools define this interface and know nothing of leases: the
 * default gate grants without limit, and src/boot/lease-gate.ts adapts the lease
 * store (memory or Redis) to it.
 */
export interface CapacitySlot {
  readonly id: string;
  /** Gives the slot back. Idempotent. */
  release(): void;
  /** Resolves/fires when the slot was lost (lease expired, fenced out): the pool must close the connection. */
  onLost(listener: (reason: Error) => void): void;
}

export interface CapacityGate {
  /** A slot, or undefined when the cap is reached right now. Never waits long. */
  tryTake(signal?: AbortSignal): Promise<CapacitySlot | undefined>;
}

let unlimitedSlots = 0;
export const unlimitedGate: CapacityGate = {
  async tryTake() {
    return {
      id: `unlimited-${++unlimitedSlots}`,
      release() {},
      onLost() {},
    };
  },
};
