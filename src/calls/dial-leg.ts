import { randomUUID } from 'node:crypto';
import { OutgoingCall, type Destination, type ReliableProvisionalHook, type UserAgent } from '../../sip/index.js';
import { isMediaError, type G711, type PortAllocator } from '../../media/index.js';
import type { MediaConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { DialRefusedError, DialUnansweredError } from './errors.js';
import { OutboundMedia } from './outbound-media.js';
import { trunkSrtp } from './carrier-setup.js';
import { reasonBeforeAnswer } from './outbound-outcome.js';
import { eachTargetInTurn, silentTargetLimit, triesNextTarget } from './target-failover.js';
import type { DialedLeg } from './transfer.js';
import type { TrunkCaps } from './trunk-caps.js';
import type { Trunk } from './trunks.js';

/** A bare leg to place: the person a transfer hands the caller to. */
export interface BareLegRequest {
  /** The Request-URI (sip:user@host), as given. */
  to: string;
  from: string;
  /** Offered in this order (the caller's own law first: no conversion in the bridge). */
  codecs: readonly G711[];
  /** No answer this long after dialing, every RFC 3263 target together: CANCEL, and the leg is refused. */
  timeoutMs: number;
  /** Aborted (the caller hung up meanwhile): CANCEL, or BYE if it answered just then. */
  signal: AbortSignal;
}

export interface BareLegDeps {
  ua: UserAgent;
  media: MediaConfig;
  ports: PortAllocator;
  caps: TrunkCaps;
  /** The trunk's RFC 3263 targets, in order (trunkTargets). */
  targets(trunk: Trunk): Promise<Destination[]>;
  /** outbound.targetTimeoutMs: a target silent this long is given up for the next (silentTargetLimit). */
  targetTimeoutMs: number;
  reliableProvisional?: ReliableProvisionalHook | undefined;
  log: Logger;
}

/**
 * Places a call through a trunk that is only a media leg: no agent, no Call, no leases, its RTP
 * session out of the pacer (a bridge forwards each frame as it arrives). It holds the trunk's caps
 * and an RTP port while it lasts. The trunk's RFC 3263 targets are tried in turn as an outbound
 * dial tries them (target-failover.ts), all within the one `timeoutMs`: the caller waits through
 * every attempt. Resolves once answered with our offer's codec as answered; rejects
 * (DialUnansweredError, DialRefusedError) when it is not, having sent CANCEL where needed.
 */
export async function placeBareLeg(deps: BareLegDeps, trunk: Trunk, req: BareLegRequest): Promise<DialedLeg> {
  if (req.signal.aborted) throw new DialUnansweredError({ to: req.to, reason: 'cancelled', detail: 'aborted before dialing' });
  const deadline = performance.now() + req.timeoutMs;
  const id = randomUUID();
  const slot = await deps.caps.take(trunk, id);
  let media: OutboundMedia;
  try {
    media = new OutboundMedia({ media: deps.media, ports: deps.ports, cname: `warmline-${id.slice(0, 8)}`, codecs: req.codecs, srtp: trunkSrtp(deps.media, trunk) });
  } catch (err) {
    slot.release();
    if (isMediaError(err)) throw new DialRefusedError({ why: 'capacity', detail: err.message }, { cause: err });
    throw err;
  }
  const log = deps.log.child({ leg: id, trunk: trunk.id });
  let targets: Destination[];
  try {
    targets = await deps.targets(trunk);
  } catch (err) {
    slot.release();
    media.close();
    throw new DialUnansweredError({ to: req.to, reason: 'transport-error', detail: `trunk ${trunk.id} not resolved` }, { cause: err });
  }
  let resolveEnded: (why: string) => void = () => undefined;
  const ended = new Promise<string>((resolve) => { resolveEnded = resolve; });
  let over = false;
  const release = (why: string) => {
    if (over) return;
    over = true;
    slot.release();
    media.close();
    media.rtp?.close();
    resolveEnded(why);
  };
  return new Promise<DialedLeg>((resolve, reject) => {
    const unanswered = (why: string, e: DialUnanswered, cause?: unknown) => {
      release(why);
      reject(new DialUnansweredError(e, cause === undefined ? undefined : { cause }));
    };
    const attempt = (destination: Destination, mayFailOver: boolean) => new Promise<boolean>((decide) => {
      const ringTimeoutMs = Math.ceil(deadline - performance.now());
      if (req.signal.aborted || ringTimeoutMs <= 0) {
        const reason = req.signal.aborted ? 'cancelled' : 'no-answer';
        unanswered(reason, { to: req.to, reason, detail: `not sent to the next target (${req.signal.aborted ? 'aborted' : `${req.timeoutMs} ms spent`})` });
        decide(false);
        return;
      }
      const sip = new OutgoingCall(deps.ua, {
        target: req.to, from: req.from, sdp: media.offer, destination, ringTimeoutMs, ...silentTargetLimit(mayFailOver, deps.targetTimeoutMs),
        ...(trunk.credentials && { credentials: trunk.credentials }),
        ...(deps.reliableProvisional && { reliableProvisional: deps.reliableProvisional }),
      });
      let heard = false;
      const abort = () => { sip.hangup().catch(() => undefined); };
      req.signal.addEventListener('abort', abort, { once: true });
      sip.on('progress', (_status, sdp) => {
        heard = true;
        decide(false);
        // Early media is not bridged (the caller keeps hearing the gateway's side), only read, so a 2xx without SDP can use it.
        if (sdp) media.apply(sdp).catch((err: unknown) => log.debug({ err }, 'early answer not usable'));
      });
      sip.once('ended', (end) => {
        req.signal.removeEventListener('abort', abort);
        if (mayFailOver && triesNextTarget(end, heard)) {
          decide(true);
          return;
        }
        decide(false);
        unanswered(end.reason, { to: req.to, reason: reasonBeforeAnswer(end), ...(end.status !== undefined && { status: end.status }), ...(end.detail && { detail: end.detail }) });
      });
      sip.on('answered', (sdp) => {
        heard = true;
        decide(false);
        if (!sdp) {
          sip.hangup().catch(() => undefined);
          return;
        }
        media.apply(sdp).then((n) => {
          if (sip.state === 'ended') return;
          const codec = n.codec.encoding.toUpperCase() as G711;
          const m = media.handOff();
          log.info({ to: req.to, codec }, 'transfer leg answered');
          resolve({ media: m.rtp, codec, hangup: () => sip.hangup(), ended });
        }, (err: unknown) => {
          log.warn({ err }, 'the answer to our offer is not usable: hanging up');
          sip.hangup().catch(() => undefined);
        });
      });
      sip.start();
      log.info({ to: req.to, destination: `${destination.transport ?? 'udp'}:${destination.address}:${destination.port}` }, 'transfer leg: INVITE sent');
    });
    // An attempt throws only before its INVITE exists (no transport for the target): nothing is out then.
    eachTargetInTurn(targets, attempt, log).catch((err: unknown) => unanswered('failed', { to: req.to, reason: 'transport-error', detail: err instanceof Error ? err.message : String(err) }, err));
  });
}

type DialUnanswered = ConstructorParameters<typeof DialUnansweredError>[0];
