/**
 * What a connection-oriented transport (TCP, TLS, WebSocket) allows a peer,
 * so that holding connections open costs an attacker as much as it costs us.
 * A parked connection with a 60 KB partial header block costs ~70 KB here:
 * 10,000 of them were ~0.7 GB before these rules.
 */
export interface ConnectionRules {
  /** Open connections at most; more are refused (closed at once) and counted. Default 10,000. */
  maxConnections: number;
  /** Inbound connections from one address at most (a trunk needs a few; a browser one). Default 100. */
  maxConnectionsPerSource: number;
  /**
   * A connection that sent a valid message, silent this long, is closed. 0
   * keeps idle connections. TCP/TLS default 600,000 ms (RFC 5626 keepalives
   * come every 2 min or so); WebSocket default 0 (a browser in a long call
   * may have nothing to say, and cannot be called back once it is gone).
   */
  idleTimeoutMs: number;
  /** A connection that has not yet sent one valid message, silent this long, is closed. Default 30,000 ms. */
  unprovenIdleMs: number;
  /** A message must be complete (header block and body) this long after its first byte: slow senders are cut. Default 10,000 ms. */
  messageTimeoutMs: number;
}

export const DEFAULT_CONNECTION_RULES: Readonly<ConnectionRules> = Object.freeze({
  maxConnections: 10_000,
  maxConnectionsPerSource: 100,
  idleTimeoutMs: 600_000,
  unprovenIdleMs: 30_000,
  messageTimeoutMs: 10_000,
});

/** The rules given in `o` (undefined ones do not count), the others from `defaults`. */
export function connectionRules(o: Partial<ConnectionRules>, defaults: Readonly<ConnectionRules> = DEFAULT_CONNECTION_RULES): ConnectionRules {
  const out = { ...defaults };
  for (const k of Object.keys(DEFAULT_CONNECTION_RULES) as Array<keyof ConnectionRules>) {
    const v = o[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Open inbound connections per source address. */
export class SourceCount {
  readonly #open = new Map<string, number>();

  /** Takes a slot for `address`, or says no when it holds `max` already. */
  admit(address: string, max: number): boolean {
    const n = this.#open.get(address) ?? 0;
    if (n >= max) return false;
    this.#open.set(address, n + 1);
    return true;
  }

  release(address: string): void {
    const n = this.#open.get(address) ?? 0;
    if (n <= 1) this.#open.delete(address);
    else this.#open.set(address, n - 1);
  }

  get sources(): number {
    return this.#open.size;
  }
}
