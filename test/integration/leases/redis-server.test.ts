import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisServer } from '../../support/redis-server.js';

describe('test support: private redis-server', function () {
  this.timeout(20_000);
  const server = new RedisServer();
  after(() => server.dispose());

  it('starts on a free port, dies on kill, comes back empty on the same port', async () => {
    await server.start();
    assert.notEqual(server.port, 6379);
    const port = server.port;
    const client = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    try {
      await client.connect();
      await client.set('k', 'v');
      await server.kill();
      assert.equal(server.running, false);
      await assert.rejects(client.get('k'));
      await server.restart();
      assert.equal(server.port, port);
      const again = new Redis(server.url, { maxRetriesPerRequest: 1, lazyConnect: true });
      await again.connect();
      assert.equal(await again.get('k'), null, 'no persistence: a restart loses the data');
      again.disconnect();
    } finally { client.disconnect(); }
  });
});
