import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/config/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SECRETS = { REDIS_PASSWORD: 'compose-test-redis-pw', OPS_TOKEN: 'compose-test-token-0123456789' };

type Service = { environment?: Record<string, string>; ports?: string[]; command?: string[]; networks?: Record<string, { ipv4_address?: string }> | string[]; volumes?: string[] };

/**
 * docker-compose.yml is kept in step with the closed edge the topology test runs natively:
 * the file as `docker-compose config` resolves it (Debian's docker-compose, offline, no engine).
 */
describe('security: docker-compose.yml describes a closed edge', () => {
  let services: Record<string, Service>;
  let replicas: Service[];
  before(function () {
    this.timeout(30_000);
    services = (parse(execFileSync('docker-compose', ['config'], { cwd: ROOT, env: { ...process.env, ...SECRETS }, encoding: 'utf8' })) as { services: Record<string, Service> }).services;
    replicas = Object.entries(services).filter(([name]) => name.startsWith('replica-')).map(([, s]) => s);
  });

  it('refuses to resolve without the secrets it needs', function () {
    this.timeout(30_000);
    const env = { ...process.env };
    delete env.REDIS_PASSWORD; delete env.OPS_TOKEN;
    assert.throws(() => execFileSync('docker-compose', ['config', '-q'], { cwd: ROOT, env, stdio: 'pipe' }), /REDIS_PASSWORD|OPS_TOKEN/);
  });

  it('only the balancer publishes SIP; the replicas believe the source header from its fixed address only', () => {
    const lb = services.balancer!;
    assert.ok(lb.ports?.some((p) => /5060/.test(String((p as unknown as { target?: number }).target ?? p))), 'the balancer publishes 5060');
    const lbAddress = (lb.networks as Record<string, { ipv4_address?: string }>).warmline?.ipv4_address;
    assert.ok(lbAddress);
    assert.ok(lb.volumes?.some((v) => String((v as unknown as { target?: string }).target ?? v).includes('/etc/kamailio/carriers.list')));
    // The replica-side socket is on the address the replicas believe, not the Dockerfile's loopback default.
    assert.ok((lb.command as string[] | undefined)?.includes(`INTERNAL_ADDR=${lbAddress}:5070`), JSON.stringify(lb.command));
    for (const r of replicas) {
      assert.ok(!(r.ports ?? []).some((p) => /5060/.test(JSON.stringify(p))), 'a replica publishes no SIP port');
      assert.deepEqual(parse(r.environment!.WARMLINE_SIP__BALANCERS!), [lbAddress]);
      assert.ok(!(parse(r.environment!.WARMLINE_SIP__CARRIERS!) as string[]).some((c) => c.startsWith('172.28.')), 'the compose network is not a carrier');
    }
  });

  it('Redis wants the password the replicas are given; the ops API wants a token', () => {
    const cmd = services.redis!.command!;
    assert.equal(cmd[cmd.indexOf('--requirepass') + 1], SECRETS.REDIS_PASSWORD);
    for (const r of replicas) {
      assert.equal(r.environment!.REDIS_PASSWORD, SECRETS.REDIS_PASSWORD);
      // Each replica's environment is a valid configuration with a token and a password.
      const env: NodeJS.ProcessEnv = { ...r.environment };
      const c = loadConfig({ env });
      assert.equal(c.leases.redisPassword, SECRETS.REDIS_PASSWORD);
      assert.equal(c.ops.tokens[0]?.token, SECRETS.OPS_TOKEN);
      assert.deepEqual(c.sip.balancers, ['172.28.0.10']);
    }
  });
});
