#!/usr/bin/env node
/**
 * `npm start`: load the configuration, start the local upstreams where no
 * provider is configured, warm every pool, serve the ops endpoints, and print
 * a `ready` line with the ops URL. SIGTERM/SIGINT drain and exit 0.
 */
import { parseArgs, USAGE } from './args.js';
import { bindFailure, startCommand, EX_CONFIG } from './startup.js';
import { loadConfig, ConfigFileError, ConfigInvalidError } from '../config/index.js';
import { createLogger } from '../log.js';
import { SipCertificateError } from '../boot/sip-transports.js';
import { startGateway } from '../boot/gateway.js';
import { ProgressLine } from './progress.js';

async function main(): Promise<number> {
  const start = startCommand('warmline', process.argv.slice(2), parseArgs, USAGE);
  if ('exit' in start) return start.exit;
  const { args, config } = start;

  const log = createLogger(config.log.level);
  const progress = new ProgressLine(process.stderr);
  let gateway;
  // POST /api/admin/drain takes the SIGTERM path, so the process exits once drained.
  let stopRequested: ((signal: NodeJS.Signals) => void) | undefined;
  const onDrainRequest = async () => { if (stopRequested) stopRequested('SIGTERM'); else process.kill(process.pid, 'SIGTERM'); };
  try {
    gateway = await startGateway(config, { log, onProgress: (p) => progress.update(p), onDrainRequest, reloadConfig: () => loadConfig({ file: args.config }) });
  } catch (err) {
    // A certificate the config names but that cannot be read, or a tenant naming an unknown agent, is a configuration error too.
    if (err instanceof SipCertificateError || err instanceof ConfigFileError || err instanceof ConfigInvalidError) {
      process.stderr.write(`warmline: cannot start: ${err.message}\n`);
      return EX_CONFIG;
    }
    const bind = bindFailure(err);
    if (bind) {
      process.stderr.write(`warmline: cannot start: ${bind}\n`);
      return EX_CONFIG;
    }
    throw err;
  }
  await gateway.whenReady();
  progress.done();
  process.stderr.write(`warmline ready: ${gateway.opsUrl} sip:${gateway.sip.address}:${gateway.sip.port} (pools ${gateway.summary()})\n`);
  if (gateway.demoUrl) process.stderr.write(`warmline demo: open ${gateway.demoUrl} in a browser on this machine and press Call\n`);
  if (config.analytics.enabled) process.stderr.write(`warmline dashboard: ${gateway.opsUrl}/dashboard/ (history in ${config.analytics.url ? 'PostgreSQL' : config.analytics.dataDir}; npm run report)\n`);
  log.info({ opsUrl: gateway.opsUrl }, 'ready');

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second signal means "now": the operator gave up on the drain.
        log.warn({ signal }, 'second signal: exiting without drain');
        resolve(1);
        return;
      }
      stopping = true;
      log.info({ signal }, 'draining');
      gateway.drain().then(() => resolve(0), (err: unknown) => {
        log.error({ err }, 'drain failed');
        resolve(1);
      });
    };
    stopRequested = stop;
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // SIGHUP: tenants are read again from the same file and environment (a broken file is refused, logged, and the tenants in force stay).
    process.on('SIGHUP', () => {
      gateway.reloadTenants().then((r) => {
        if (r.ok) process.stderr.write(`warmline: tenants reloaded: ${r.tenants.join(', ') || 'none'}\n`);
        else process.stderr.write(`warmline: tenants NOT reloaded (${r.error.split('\n').join('; ')}): the tenants in force stay\n`);
      }, (err: unknown) => log.error({ err }, 'tenant reload failed'));
    });
  });
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`warmline: failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
