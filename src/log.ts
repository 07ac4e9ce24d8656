import { pino, stdSerializers, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values are secrets wherever they appear in a log object (case-insensitive). */
const SECRET_KEY = /(api[_-]?key|password|passwd|secret|token|authorization|cookie|credential)s?$|^(pass|pw)$/i;
/** `scheme://user:password@host` and `scheme://token@host`: the userinfo goes, the rest stays readable. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#'"]*@/gi;
/** `Bearer abc…` / `Basic abc…` in free text (an echoed header). */
const AUTH_SCHEME = /\b(Bearer|Basic|Digest)\s+[^\s,"']+/g;

export const REDACTED = '[redacted]';

const TOP_LEVEL_SECRETS = ['apiKey', 'api_key', 'apikey', 'password', 'passwd', 'pass', 'pw', 'secret', 'token', 'authorization', 'Authorization', 'cookie', 'credentials'];

/** Removes URL userinfo and authorization credentials from a string. */
export function redactText(s: string): string {
  if (s.indexOf('@') === -1 && s.indexOf('Bearer') === -1 && s.indexOf('Basic') === -1 && s.indexOf('Digest') === -1) return s;
  return s.replace(USERINFO, `$1${REDACTED}@`).replace(AUTH_SCHEME, `$1 ${REDACTED}`);
}

/**
 * A copy of `v` with secret-named keys censored and strings scrubbed. Bounded in depth and width
 * so that logging a large object can never cost more than a fixed amount of work.
 */
export function redactValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return redactText(v);
  if (v === null || typeof v !== 'object' || depth > 6) return v;
  if (v instanceof Error) return redactValue(stdSerializers.err(v), depth);
  if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) return v.length > 200 ? v : v.map((x) => redactValue(x, depth + 1));
  if (v instanceof Map || v instanceof Set || v instanceof Date) return v;
  // What JSON.stringify would write (a URL's href, a class's chosen shape), then redacted.
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return redactValue(toJSON.call(v), depth + 1);
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (++n > 200) { out[k] = x; continue; }
    out[k] = redactEntry(k, x, depth + 1);
  }
  return out;
}

/** A secret-named key loses its string value; anything else (a list of named tokens, a count) is walked. */
function redactEntry(key: string, value: unknown, depth: number): unknown {
  if (SECRET_KEY.test(key) && typeof value === 'string' && value !== '') return REDACTED;
  return redactValue(value, depth);
}

/**
 * The process logger: pino, JSON on stdout, one line per event. Child loggers
 * carry `component` and, inside a call, `callId`; pino serializes those
 * bindings once per child, not once per line.
 *
 * Secrets never reach the output: keys named like a secret (apiKey, password, token,
 * authorization…) are censored at any depth, and URLs lose their userinfo
 * (`redis://:pw@redis:6379` is written `redis://[redacted]@redis:6379`), in the object, in
 * bindings and in the message. Logging is off the media path, so the walk's cost is acceptable.
 */
export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { service: 'warmline' },
    // pino's redaction runs on every top-level key of each line and of each child's bindings
    // (after serializers, so an err is already a plain object); the censor walks below it.
    // The wildcard's censor is not told the key, so top-level secret names are listed as well.
    redact: { paths: ['*', ...TOP_LEVEL_SECRETS], censor: (value: unknown, path: Array<string | symbol>) => {
      const key = path[path.length - 1];
      return typeof key === 'string' ? redactEntry(key, value, 1) : redactValue(value, 1);
    } },
    hooks: {
      logMethod(args, method) {
        // args: [obj?, msg?, ...interpolation]; strings anywhere may carry a URL with a password.
        const clean = args.map((a) => (typeof a === 'string' ? redactText(a) : a));
        method.apply(this, clean as Parameters<typeof method>);
      },
    },
  }, destination);
}
