import { describe, expect, it } from 'vitest';
import { MemoryStore, revocationRetention } from '@tessera/core';
import { ADMIN_KEY, startTestServer } from './testing/helpers.js';
import { runHttpContract } from './testing/http-contract.js';

runHttpContract({ name: 'memory', open: async () => new MemoryStore({ heartbeatInterval: 100 }) });

describe('the service sweeps the store', () => {
  it('records past retention and expired throttling counters are deleted on a timer', async () => {
    const server = await startTestServer(new MemoryStore(), { sweepInterval: 20 });
    try {
      const created = await server.call({ method: 'POST', url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'u1' } });
      await server.call({ method: 'DELETE', url: `/v1/admin/sessions/${created.body.session.id}`, token: ADMIN_KEY });
      expect(await server.store.getSession(created.body.session.id)).not.toBeNull();
      server.clock.advance(revocationRetention(server.app.tessera.engine.policy) + 1);
      await expect.poll(() => server.store.getSession(created.body.session.id), { timeout: 2000 }).toBeNull();
    } finally {
      await server.app.close();
    }
  });
});
