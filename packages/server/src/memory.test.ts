import { describe, expect, it } from 'vitest';
import { MemoryStore, revocationRetention } from '@tessera/core';
import { USERNAME_MAX_LENGTH } from './users.js';
import { ADMIN_KEY, PASSWORD, startTestServer } from './testing/helpers.js';
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

describe('the service (Fastify): path parameters as long as the contract allows', () => {
  it('a username of the longest allowed length is found; past the schema limit, 400 invalid_request', async () => {
    const server = await startTestServer(new MemoryStore());
    try {
      const longest = 'u'.repeat(USERNAME_MAX_LENGTH);
      const id = await server.user(longest, PASSWORD);
      const found = await server.call({ method: 'GET', url: `/v1/admin/users/${longest}`, token: ADMIN_KEY });
      expect(found.body).toEqual({ id, username: longest, createdAt: server.clock.now() });
      expect((await server.call({ method: 'GET', url: `/v1/admin/users/${longest}/sessions`, token: ADMIN_KEY })).body).toEqual({ sessions: [] });
      const tooLong = await server.call({ method: 'GET', url: `/v1/admin/users/${'u'.repeat(257)}`, token: ADMIN_KEY });
      expect({ status: tooLong.status, code: tooLong.body?.error?.code }).toEqual({ status: 400, code: 'invalid_request' });
    } finally {
      await server.app.close();
    }
  });
});
