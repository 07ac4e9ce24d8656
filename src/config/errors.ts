import { defineError } from '../errors.js';

export interface ConfigIssue {
  /** Dotted path of the offending key, e.g. `pools.asr.min`. */
  readonly key: string;
  /** The value that arrived (secrets masked). */
  readonly value: unknown;
  /** What the key accepts. */
  readonly expected: string;
  /** Where the value came from: `config/default.yaml`, a file path, or `env NAME`. */
  readonly source: string;
}

function describe(i: ConfigIssue): string {
  const shown = i.value === undefined ? 'nothing' : JSON.stringify(i.value);
  return `config key '${i.key}' has ${shown} (from ${i.source}): expected ${i.expected}`;
}

export const ConfigInvalidError = defineError<{ issues: readonly ConfigIssue[] }>(
  'WL_ERR_CONFIG_INVALID',
  'ConfigInvalidError',
  (c) => c.issues.map(describe).join('\n'),
);

export const ConfigFileError = defineError<{ path: string; reason: string }>(
  'WL_ERR_CONFIG_FILE',
  'ConfigFileError',
  (c) => `config file '${c.path}' cannot be used: ${c.reason}`,
);
