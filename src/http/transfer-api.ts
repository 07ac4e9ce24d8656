import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { WarmlineError } from '../errors.js';
import { readBodyText, sendJson } from './json-body.js';

/** What POST /api/calls/{id}/transfer needs of the gateway (small, so tests can supply it). */
export interface TransferApi {
  /**
   * Transfers one active call to an allowlisted target; undefined when no such
   * call is active. Throws WL_ERR_TRANSFER_TARGET / WL_ERR_TRANSFER_STATE before
   * anything is sent; a transfer that was tried and failed resolves `ok: false`.
   */
  transfer(callId: string, target: string, say?: string): Promise<{ ok: boolean; [k: string]: unknown } | undefined>;
}

const MAX_BODY = 4096;
const PATH = /^\/api\/calls\/([^/]{1,200})\/transfer$/;
const STATUS: Record<string, number> = { WL_ERR_TRANSFER_TARGET: 403, WL_ERR_TRANSFER_STATE: 409 };

const send = sendJson;

async function readBody(req: IncomingMessage): Promise<{ target?: unknown; say?: unknown }> {
  const parsed = JSON.parse((await readBodyText(req, MAX_BODY)) || '{}') as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('not a JSON object');
  return parsed;
}

/**
 * POST /api/calls/{id}/transfer {"target": "front-desk", "say"?: "Connecting you now."}:
 * the caller is already authenticated (ops token). Answers once the transfer is
 * settled: 200 {ok: true, via: refer|bridge}, 502 {ok: false, code: transfer-failed}
 * (the call stays with its agent), 404 no such call, 403 a target not allowed,
 * 409 a call that cannot be transferred now, 400 a bad body. Returns false for other paths.
 */
export async function handleTransfer(req: IncomingMessage, res: ServerResponse, path: string, who: string, api: TransferApi | undefined, log: Logger): Promise<boolean> {
  const m = PATH.exec(path);
  if (!m) return false;
  if (req.method !== 'POST') { send(res, 405, { error: 'a transfer is POST' }); return true; }
  if (!api) { send(res, 404, { error: 'no transfers on this server' }); return true; }
  const callId = decodeURIComponent(m[1]!);
  let body: { target?: unknown; say?: unknown };
  try { body = await readBody(req); } catch (err) {
    send(res, 400, { error: `body must be JSON {"target": name}: ${(err as Error).message}` });
    return true;
  }
  if (typeof body.target !== 'string' || body.target === '' || (body.say !== undefined && typeof body.say !== 'string')) {
    send(res, 400, { error: 'target must be a non-empty string (a name from transfer.targets); say, when given, a string' });
    return true;
  }
  try {
    const outcome = await api.transfer(callId, body.target, body.say as string | undefined);
    log.info({ who, action: 'transfer', callId, target: body.target, outcome: outcome ?? 'no such call' }, 'ops action');
    if (!outcome) send(res, 404, { error: `no active call ${callId}` });
    else send(res, outcome.ok ? 200 : 502, outcome);
  } catch (err) {
    if (!(err instanceof WarmlineError) || !(err.code in STATUS)) throw err;
    log.info({ who, action: 'transfer', callId, target: body.target, outcome: err.code }, 'ops action');
    send(res, STATUS[err.code]!, { error: err.message, code: err.code });
  }
  return true;
}
