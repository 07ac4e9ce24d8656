import { defineError } from '../errors.js';

/** Command-line flags of `npm start` (everything else is configuration). */
export interface CliArgs {
  readonly config?: string;
  readonly help: boolean;
}

export const CliUsageError = defineError<{ reason: string }>('WL_ERR_CLI_USAGE', 'CliUsageError', (c) => c.reason);

export const USAGE = `usage: npm start -- [--config FILE]

  --config FILE   YAML merged over config/default.yaml (also WARMLINE_CONFIG=FILE)
  --help          this text

Every configuration key can also be set from the environment: see README.md.`;

export function parseArgs(argv: readonly string[]): CliArgs {
  let config: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') help = true;
    else if (a === '--config') {
      const v = argv[++i];
      if (!v || v.startsWith('--')) throw new CliUsageError({ reason: '--config needs a file path' });
      config = v;
    } else if (a.startsWith('--config=')) config = a.slice('--config='.length);
    else throw new CliUsageError({ reason: `unknown argument '${a}'` });
  }
  return config === undefined ? { help } : { config, help };
}
