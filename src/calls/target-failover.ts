import type { Destination, OutgoingEnd } from '../../sip/index.js';
import { resolveSipTargets, type DnsLookups } from '../../sip/dns/index.js';
import type { Logger } from '../log.js';
import type { Trunk } from './trunks.js';

/**
 * RFC 3263 for the INVITEs we send through a trunk, shared by the outbound dial and a transfer's
 * bare leg so both walk the same targets by the same rules and say so in the same log line.
 */

/** RFC 3263 on the trunk's proxy (the registrar unless one is set), through the registrations' resolver: every target, in order. */
export async function trunkTargets(trunk: Trunk, dns: DnsLookups): Promise<Destination[]> {
  const targets = await resolveSipTargets(trunk.proxy, dns);
  return targets.map((t) => ({ address: t.address, port: t.port, transport: t.transport, ...(t.transport === 'tls' && trunk.tls && { tls: trunk.tls }) }));
}

/**
 * §4.3: the next target is tried when this one gave no response at all (Timer B, or sooner
 * outbound.targetTimeoutMs: silentTargetLimit), a transport error, or a 503, and only while nothing else was heard from it: a target that rang or answered
 * owns the call's outcome, whatever comes after.
 */
export function triesNextTarget(end: OutgoingEnd, heardFrom: boolean): boolean {
  return !heardFrom && (end.reason === 'transport' || (end.reason === 'failed' && end.status === 503));
}

/**
 * The OutgoingCall option that gives a silent target up (outbound.targetTimeoutMs) so the next one
 * can be tried: only while there is a next one; the last target's limit is the ring timeout's.
 */
export function silentTargetLimit(mayFailOver: boolean, targetTimeoutMs: number): { noResponseTimeoutMs?: number } {
  return mayFailOver ? { noResponseTimeoutMs: targetTimeoutMs } : {};
}

/**
 * One INVITE per target, in order. `attempt` resolves true when the next target should be tried
 * (triesNextTarget), which it may only do when told `mayFailOver`: the last target's outcome is the
 * call's, and so is every outcome the attempt keeps. A rejected attempt ends the walk with its error.
 */
export async function eachTargetInTurn(
  targets: readonly Destination[],
  attempt: (destination: Destination, mayFailOver: boolean) => Promise<boolean>,
  log: Logger,
): Promise<void> {
  for (let i = 0; i < targets.length; i++) {
    if (!(await attempt(targets[i]!, i < targets.length - 1))) return;
    log.warn({ failed: hostPort(targets[i]!), next: hostPort(targets[i + 1]!) }, 'INVITE failed over to the next RFC 3263 target');
  }
}

function hostPort(d: Destination): string {
  return `${d.address}:${d.port}`;
}
