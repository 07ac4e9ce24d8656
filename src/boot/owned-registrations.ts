import { EventEmitter } from 'node:events';
import type { SipRequest, SipResponse } from '../../sip/index.js';
import { RegistrationPool, type CarrierAccount, type RegistrarClient, type RegistrarDestination, type RegistrationPoolOptions } from '../../sip/registration/index.js';
import { LeaseLostError, type OwnershipManager } from '../leases/index.js';

export interface OwnedRegistrationsOptions {
  ownership: OwnershipManager;
  /** Every carrier account of the deployment; the ownership keys are their ids. */
  accounts: readonly CarrierAccount[];
  ua: RegistrarClient;
  /** Passed to each account's RegistrationPool (ua is set here). */
  pool?: Omit<RegistrationPoolOptions, 'ua'>;
}

export interface OwnedRegistrationsEvents {
  /** This replica's REGISTER for `id` was accepted (first time after taking ownership, and each refresh). */
  registered: [id: string];
  /** This replica stopped refreshing `id`. */
  released: [id: string, reason: string];
  /** A REGISTER for `id` got no response (the error: a refused certificate, a timeout…); it is retried with backoff. */
  failure: [id: string, error: Error];
  /** An owned registration's state changed (registering, registered, backoff, failed…): analytics records it. */
  state: [id: string];
}

/**
 * Joins registration ownership to the SIP registration pool: this replica refreshes exactly the
 * carrier registrations it owns. One RegistrationPool per owned account, because the pool has no
 * remove() and ownership moves one account at a time.
 *
 * Every REGISTER goes through a fenced client that refuses to send once the ownership's local
 * deadline has passed (the registrar cannot check a fencing token). A lost or released account is
 * never un-REGISTERed: all replicas register the same Contact (the balancer), so an Expires: 0
 * from the old owner could land after the new owner's refresh and delete the binding the new
 * owner relies on. The binding stays valid until its Expires; the new owner refreshes it.
 */
export class OwnedRegistrations extends EventEmitter<OwnedRegistrationsEvents> {
  readonly #o: OwnedRegistrationsOptions;
  readonly #accounts = new Map<string, CarrierAccount>();
  /** `silence()` makes the fenced client refuse everything: the pool's closing un-REGISTER must not leave. */
  readonly #pools = new Map<string, { pool: RegistrationPool; silence(): void }>();
  readonly #onAcquired = (id: string) => this.#start(id);
  // #release's close() swallows a failed un-REGISTER; the pool is dropped before it, so nothing is left to retry.
  readonly #onLost = (id: string, reason: string) => { this.#release(id, reason).catch(() => undefined); };

  constructor(options: OwnedRegistrationsOptions) {
    super();
    this.#o = options;
    for (const a of options.accounts) this.#accounts.set(a.id, a);
  }

  /** Account ids this replica is refreshing now. */
  active(): string[] { return [...this.#pools.keys()]; }

  pool(id: string): RegistrationPool | undefined { return this.#pools.get(id)?.pool; }

  start(): void {
    this.#o.ownership.on('acquired', this.#onAcquired);
    this.#o.ownership.on('lost', this.#onLost);
    this.#o.ownership.start();
  }

  /** Drain: stops refreshing and gives every ownership back at once (another replica takes over). */
  async stop(): Promise<void> {
    await Promise.all([...this.#pools.keys()].map((id) => this.#release(id, 'stopping')));
    await this.#o.ownership.stop();
    this.#o.ownership.off('acquired', this.#onAcquired);
    this.#o.ownership.off('lost', this.#onLost);
  }

  #start(id: string): void {
    const account = this.#accounts.get(id);
    if (!account || this.#pools.has(id)) return;
    const { ownership, ua } = this.#o;
    let silenced = false;
    const fenced: RegistrarClient = {
      get contact() { return ua.contact; },
      ...(ua.contactFor && { contactFor: ua.contactFor.bind(ua) }),
      sendRequest(req: SipRequest, to: RegistrarDestination): Promise<SipResponse> {
        const grant = ownership.grant(id);
        if (!grant || silenced) return Promise.reject(new LeaseLostError({ key: id, token: 0, reason: 'not the owner of this registration' }));
        return ua.sendRequest(req, to);
      },
    };
    const pool = new RegistrationPool({ ...this.#o.pool, ua: fenced });
    pool.on('state', (_id, state) => { if (state === 'registered') this.emit('registered', id); this.emit('state', id); });
    pool.on('failure', (_id, err) => this.emit('failure', id, err));
    this.#pools.set(id, { pool, silence: () => { silenced = true; } });
    pool.add(account);
  }

  async #release(id: string, reason: string): Promise<void> {
    const entry = this.#pools.get(id);
    if (!entry) return;
    this.#pools.delete(id);
    // close() un-REGISTERs what is registered; the silenced client refuses it (see the class comment).
    entry.silence();
    await entry.pool.close().catch(() => undefined);
    this.emit('released', id, reason);
  }
}
