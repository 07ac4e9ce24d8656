import { loadConfig, ConfigFileError, ConfigInvalidError, type WarmlineConfig } from '../config/index.js';
import { CliUsageError } from './args.js';

// sysexits(3): EX_USAGE and EX_CONFIG, so a supervisor can tell a bad start from a crash.
export const EX_USAGE = 64;
export const EX_CONFIG = 78;

/** What a command's start decided: go on with its arguments and configuration, or exit with this code. */
export type Startup<A> = { readonly args: A; readonly config: WarmlineConfig } | { readonly exit: number };

/**
 * The part every command of ours begins with: its flags parsed (a usage error prints the usage and
 * exits 64), `--help` answered, the configuration loaded (a broken file or key exits 78 with the
 * loader's message, which names the key and the file).
 */
export function startCommand<A extends { readonly help: boolean; readonly config?: string }>(
  prog: string, argv: readonly string[], parse: (argv: readonly string[]) => A, usage: string,
): Startup<A> {
  let args: A;
  try {
    args = parse(argv);
  } catch (err) {
    if (!(err instanceof CliUsageError)) throw err;
    process.stderr.write(`${prog}: ${err.message}\n${usage}\n`);
    return { exit: EX_USAGE };
  }
  if (args.help) {
    process.stdout.write(`${usage}\n`);
    return { exit: 0 };
  }
  try {
    return { args, config: loadConfig({ file: args.config }) };
  } catch (err) {
    if (!(err instanceof ConfigInvalidError || err instanceof ConfigFileError)) throw err;
    process.stderr.write(`${prog}: cannot start: ${err.message}\n`);
    return { exit: EX_CONFIG };
  }
}

/**
 * A listener that could not bind (another process holds the port, or it is privileged): the error
 * or one of its causes carries Node's EADDRINUSE / EACCES. The start then fails like a broken
 * configuration, with the message that names the address, not with a stack trace.
 */
export function bindFailure(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { code, syscall } = e as NodeJS.ErrnoException;
    // Only a listener's own failure: an unreadable file is EACCES too, and not a port.
    if ((syscall === 'bind' || syscall === 'listen') && (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')) {
      const why = code === 'EADDRINUSE' ? 'another process holds it' : code === 'EACCES' ? 'a privileged port needs more rights' : 'no interface has that address';
      return `${err instanceof Error ? err.message : String(err)} (${why}: stop it, or choose another address or port in the configuration, e.g. sip.port or server.httpPort)`;
    }
  }
  return undefined;
}
