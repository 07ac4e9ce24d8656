import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { configSchema, type WarmlineConfig } from './schema.js';
import { redactText } from '../log.js';
import { ConfigFileError, ConfigInvalidError, type ConfigIssue } from './errors.js';

export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

type Tree = Record<string, unknown>;

export interface LoadOptions {
  /** A YAML file merged over the embedded default (--config / WARMLINE_CONFIG). */
  file?: string | undefined;
  /** Environment to read overrides from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Programmatic overrides merged last (tests, benchmarks). */
  overrides?: DeepPartial<WarmlineConfig>;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/**
 * Provider variables by their conventional names, so that a deployment that
 * already exports OPENAI_API_KEY needs no Warmline-specific spelling.
 * The LLM key is chosen after the provider is known (see applyNamedEnv).
 */
const namedEnv: ReadonlyArray<readonly [string, string]> = [
  ['DEEPGRAM_API_KEY', 'upstreams.asr.apiKey'],
  ['DEEPGRAM_BASE_URL', 'upstreams.asr.baseUrl'],
  ['ELEVENLABS_API_KEY', 'upstreams.tts.apiKey'],
  ['ELEVENLABS_BASE_URL', 'upstreams.tts.baseUrl'],
  ['CRM_API_KEY', 'upstreams.crm.apiKey'],
  ['CRM_BASE_URL', 'upstreams.crm.baseUrl'],
  ['REDIS_URL', 'leases.redisUrl'],
  ['REDIS_PASSWORD', 'leases.redisPassword'],
];

/**
 * `${NAME}` and `${NAME:-fallback}` in a config file take the environment's value, so a
 * carrier profile can sit in the repository while its password stays in the deployment's
 * secrets. An unset name with no fallback stops the start, naming the line.
 */
function expandEnv(text: string, path: string, env: NodeJS.ProcessEnv): string {
  return text.split('\n').map((line, i) => {
    if (/^\s*#/.test(line)) return line;
    return line.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return JSON.stringify(v).slice(1, -1);
      if (fallback !== undefined) return fallback;
      throw new ConfigFileError({ path, reason: `line ${i + 1} uses \${${name}}, which is not set in the environment (give it a value, or a fallback as \${${name}:-value})` });
    });
  }).join('\n');
}

function readYaml(path: string, env?: NodeJS.ProcessEnv): Tree {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigFileError({ path, reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err) }, { cause: err });
  }
  if (env) text = expandEnv(text, path, env);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    throw new ConfigFileError({ path, reason: `not valid YAML${where}: ${(err as Error).message.split('\n')[0]}` }, { cause: err });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigFileError({ path, reason: 'the top level must be a mapping of sections (server, upstreams, pools, …)' });
  }
  return doc as Tree;
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merges `over` into `base` in place, recording where each leaf came from. */
function merge(base: Tree, over: Tree, source: string, sources: Map<string, string>, prefix = ''): void {
  for (const [k, v] of Object.entries(over)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isTree(v) && isTree(base[k])) {
      merge(base[k] as Tree, v, source, sources, key);
    } else {
      base[k] = v;
      sources.set(key, source);
    }
  }
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const p of parts.slice(0, -1)) {
    if (!isTree(node[p])) node[p] = {};
    node = node[p] as Tree;
  }
  node[parts[parts.length - 1]!] = value;
}

function getPath(tree: unknown, path: readonly PropertyKey[]): unknown {
  let node = tree;
  for (const p of path) {
    if (Array.isArray(node)) node = node[Number(p)];
    else if (isTree(node)) node = node[String(p)];
    else return undefined;
  }
  return node;
}

/**
 * `WARMLINE_POOLS__ASR__MIN=4` sets pools.asr.min. Environment names lose
 * case, so each segment is matched case-insensitively against the keys the
 * default document has; a segment that matches nothing is kept as written so
 * that validation can name it as an unknown key.
 */
function envPath(name: string, defaults: Tree): string {
  const segments = name.slice('WARMLINE_'.length).split('__');
  const out: string[] = [];
  let node: unknown = defaults;
  for (const seg of segments) {
    const match = isTree(node) ? Object.keys(node).find((k) => k.toLowerCase() === seg.toLowerCase()) : undefined;
    const key = match ?? seg.toLowerCase();
    out.push(key);
    node = isTree(node) ? node[key] : undefined;
  }
  return out.join('.');
}

/** Environment values are YAML scalars: `4` is a number, `true` a boolean, `""` empty. */
function envValue(raw: string): unknown {
  try {
    const v: unknown = parseYaml(raw);
    return v === null ? '' : v;
  } catch {
    return raw;
  }
}

function applyEnv(tree: Tree, defaults: Tree, env: NodeJS.ProcessEnv, sources: Map<string, string>): void {
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || !name.startsWith('WARMLINE_') || name === 'WARMLINE_CONFIG') continue;
    const path = envPath(name, defaults);
    setPath(tree, path, envValue(raw));
    sources.set(path, `env ${name}`);
  }
  for (const [name, path] of namedEnv) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    setPath(tree, path, raw);
    sources.set(path, `env ${name}`);
  }
  // REDIS_URL alone is the common way to say "coordinate through Redis".
  if (env.REDIS_URL && !sources.get('leases.store')?.startsWith('env')) {
    setPath(tree, 'leases.store', 'redis');
    sources.set('leases.store', 'env REDIS_URL');
  }
  const llm = getPath(tree, ['upstreams', 'llm']) as Tree | undefined;
  const prefix = llm?.provider === 'anthropic' ? 'ANTHROPIC' : 'OPENAI';
  for (const [suffix, key] of [['API_KEY', 'apiKey'], ['BASE_URL', 'baseUrl']] as const) {
    const raw = env[`${prefix}_${suffix}`];
    if (raw) {
      setPath(tree, `upstreams.llm.${key}`, raw);
      sources.set(`upstreams.llm.${key}`, `env ${prefix}_${suffix}`);
    }
  }
}

const SECRET = /(apikey|password|token|tokens)$/i;

/** Where a key's value came from: the nearest enclosing key that a source set (lists are set whole). */
function sourceOf(sources: Map<string, string>, path: readonly PropertyKey[]): string | undefined {
  for (let n = path.length; n > 0; n--) {
    const s = sources.get(path.slice(0, n).join('.'));
    if (s) return s;
  }
  return undefined;
}

function toIssues(error: z.ZodError, raw: Tree, defaults: Tree, sources: Map<string, string>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const key = [...issue.path, k].join('.');
        const parent = getPath(defaults, issue.path);
        const known = isTree(parent) ? Object.keys(parent).join(', ') : '';
        issues.push({ key, value: getPath(raw, [...issue.path, k]), expected: `no such key${known ? ` (known keys here: ${known})` : ''}`, source: sourceOf(sources, [...issue.path, k]) ?? 'config' });
      }
      continue;
    }
    const key = issue.path.join('.');
    const value = getPath(raw, issue.path);
    issues.push({
      key,
      value: SECRET.test(key) && value !== '' && value !== undefined ? '***' : typeof value === 'string' ? redactText(value) : value,
      // zod says e.g. "Too big: expected number to be <=65535"; keep what follows "expected".
      expected: issue.message.replace(/^[A-Za-z ]+: /, '').replace(/^expected /, ''),
      source: sourceOf(sources, issue.path) ?? 'config',
    });
  }
  return issues;
}

function deepFreeze<T>(o: T): T {
  if (isTree(o) || Array.isArray(o)) {
    for (const v of Object.values(o as object)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * Loads the embedded default, merges the file, the environment and the
 * overrides over it, validates once and returns a deep-frozen config.
 * Throws WL_ERR_CONFIG_FILE or WL_ERR_CONFIG_INVALID naming key, value and
 * what was expected.
 */
export function loadConfig(options: LoadOptions = {}): WarmlineConfig {
  const env = options.env ?? process.env;
  const sources = new Map<string, string>();
  const defaults = readYaml(DEFAULT_CONFIG_PATH);
  const tree = structuredClone(defaults);
  const file = options.file ?? env.WARMLINE_CONFIG;
  if (file) merge(tree, readYaml(file, env), file, sources);
  applyEnv(tree, defaults, env, sources);
  if (options.overrides) merge(tree, options.overrides as Tree, 'overrides', sources);
  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) {
    const issues = toIssues(parsed.error, tree, defaults, sources).map((i) => ({ ...i, source: i.source === 'config' ? 'config/default.yaml' : i.source }));
    throw new ConfigInvalidError({ issues });
  }
  return deepFreeze(parsed.data);
}
