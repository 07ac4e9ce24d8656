import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, ConfigFileError } from '../../../src/config/index.js';

const carrier = (name: string) => fileURLToPath(new URL(`../../../config/carriers/${name}.yaml`, import.meta.url));

describe('config: carrier profiles and ${VAR} in config files', () => {
  it('the Telnyx and Bandwidth profiles load as registrations, secrets from the environment', () => {
    const t = loadConfig({ file: carrier('telnyx'), env: { TELNYX_SIP_USERNAME: 'u1', TELNYX_SIP_PASSWORD: 'p"w\\1', TELNYX_PUBLIC_ADDRESS: 'gw.example.com' } });
    assert.equal(t.registrations[0]!.id, 'telnyx-main');
    assert.equal(t.registrations[0]!.user, 'u1');
    assert.equal(t.registrations[0]!.password, 'p"w\\1', 'quotes and backslashes survive');
    assert.deepEqual(t.sip.carriers, ['192.76.120.10', '64.16.250.10']);
    assert.equal(t.sip.advertise, 'gw.example.com', 'the public address goes into Via and Contact');
    assert.equal(t.media.advertise, 'gw.example.com', 'and into SDP c=/o=');
    const b = loadConfig({ file: carrier('bandwidth'), env: { BANDWIDTH_SIP_USERNAME: 'u', BANDWIDTH_SIP_PASSWORD: 'p', BANDWIDTH_SIP_DOMAIN: 'acme.auth.example', BANDWIDTH_PUBLIC_ADDRESS: '198.51.100.7' } });
    assert.equal(b.registrations[0]!.registrar.host, 'acme.auth.example');
    assert.deepEqual(b.sip.carriers, ['203.0.113.0/24'], 'the fallback after :-');
    assert.equal(b.sip.advertise, '198.51.100.7');
    assert.equal(b.media.advertise, '198.51.100.7');
  });

  it('an unset ${VAR} without a fallback stops the start, naming the file, line and variable', () => {
    assert.throws(() => loadConfig({ file: carrier('telnyx'), env: {} }), (err: unknown) => {
      assert.ok(err instanceof ConfigFileError);
      assert.match(err.message, /telnyx\.yaml.*line \d+ uses \$\{TELNYX_SIP_USERNAME\}, which is not set/);
      return true;
    });
  });

  it('a ${VAR} inside a comment is left alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-cfg-'));
    try {
      const f = join(dir, 'c.yaml');
      writeFileSync(f, '# uses ${NOT_SET_ANYWHERE}\nserver:\n  httpPort: ${PORT:-9000}\n');
      assert.equal(loadConfig({ file: f, env: {} }).server.httpPort, 9000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
