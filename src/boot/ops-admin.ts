import type { OpsAdmin, FloorResult } from '../http/index.js';
import type { PoolBase, PooledConnection } from '../pools/index.js';
import { WarmlineError } from '../errors.js';
import type { Logger } from '../log.js';

export interface GatewayAdminParts {
  hangup(callId: string): boolean;
  /** The pools of each upstream (every connection key), by upstream name. */
  poolsOf(upstream: string): readonly PoolBase<PooledConnection>[] | undefined;
  /** What a drain request does: the CLI's SIGTERM path when there is one, else the gateway's drain. */
  drain(): Promise<unknown>;
  reloadTenants?: OpsAdmin['reloadTenants'];
  log: Logger;
}

/** The ops server's admin actions over the gateway's parts (OpsSources.admin). */
export function gatewayAdmin(p: GatewayAdminParts): OpsAdmin {
  let draining: Promise<unknown> | undefined;
  return {
    hangup: (id) => p.hangup(id),
    drain: () => {
      draining ??= p.drain().catch((err: unknown) => p.log.error({ err }, 'drain requested over the ops API failed'));
    },
    setPoolFloor: (upstream, min): FloorResult => {
      const pools = p.poolsOf(upstream);
      if (!pools) return { ok: false, status: 404, reason: `no upstream ${upstream} (asr, tts, llm, crm)` };
      const over = pools.find((x) => min > x.max);
      if (over) return { ok: false, status: 400, reason: `min ${min} is above pool ${over.name}'s max (${over.max})` };
      try {
        for (const x of pools) x.setFloor(min);
      } catch (err) {
        if (err instanceof WarmlineError) return { ok: false, status: 400, reason: err.message };
        throw err;
      }
      return { ok: true, pools: pools.length };
    },
    ...(p.reloadTenants && { reloadTenants: p.reloadTenants }),
  };
}
