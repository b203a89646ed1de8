/**
 * The dashboard's API client and its event follower against a real service (in-process, memory
 * store): every call the dashboard makes, as the service answers it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '@tessera/core';
import { buildServer, type TesseraServer } from '@tessera/server';
import { AdminApiError, createAdminApi, keyProblem, type StoredEvent } from './admin-api';
import { followEvents } from './event-feed';

const KEY = 'dashboard-test-admin-key-0123456789abcdef';

describe('the admin API, as the dashboard calls it', () => {
  let server: TesseraServer;
  let origin: string;

  beforeAll(async () => {
    server = await buildServer({ store: new MemoryStore(), issuer: 'http://localhost', audience: 'tessera', adminKey: KEY, processMetrics: false });
    origin = await server.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => server?.close());

  const createSession = (userId: string, name: string) =>
    fetch(`${origin}/v1/admin/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId, device: { name, kind: 'desktop' } }),
    }).then(async (response) => ((await response.json()) as { session: { id: string } }).session.id);

  it('checks the key, and says what is wrong with a bad one', async () => {
    await expect(createAdminApi(KEY, origin).check()).resolves.toBeUndefined();
    const refused = await createAdminApi('not-the-key', origin).check().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AdminApiError);
    expect(keyProblem(refused)).toBe('That admin key is not right.');
  });

  it("lists a user's sessions, revokes one, then all", async () => {
    const api = createAdminApi(KEY, origin);
    const laptop = await createSession('usr_lookup', 'Laptop');
    await createSession('usr_lookup', 'Phone');
    await createSession('usr_lookup', 'Tablet');
    expect((await api.userSessions('usr_lookup')).map((s) => s.device.name).sort()).toEqual(['Laptop', 'Phone', 'Tablet']);
    await api.revokeSession(laptop);
    expect((await api.userSessions('usr_lookup')).map((s) => s.device.name).sort()).toEqual(['Phone', 'Tablet']);
    expect(await api.revokeUser('usr_lookup')).toBe(2);
    expect(await api.userSessions('usr_lookup')).toEqual([]);
    const missing = await api.revokeSession('no-such-session').catch((error: unknown) => error);
    expect(missing).toMatchObject({ code: 'not_found', status: 404 });
  });

  it('lists the published signing keys', async () => {
    const keys = await createAdminApi(KEY, origin).signingKeys();
    expect(keys.length).toBeGreaterThan(0);
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
  });

  it('follows the event log page by page, then live', async () => {
    const api = createAdminApi(KEY, origin);
    const first = await createSession('usr_feed', 'One');
    await createSession('usr_feed', 'Two');
    const seen: StoredEvent[] = [];
    let polls = 0;
    // Pages of 2 force several reads of the backlog.
    const stop = followEvents(api, { limit: 2, interval: 20, onEvents: (batch) => seen.push(...batch), onStatus: (error) => (expect(error).toBeNull(), polls++) });
    try {
      await expect.poll(() => seen.filter((e) => e.userId === 'usr_feed').length).toBe(2);
      await api.revokeSession(first);
      await expect.poll(() => seen.find((e) => e.type === 'session.revoked' && e.sid === first)?.reason).toBe('admin');
      expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length); // each event once, in log order
      expect(polls).toBeGreaterThan(1);
    } finally {
      stop();
    }
  });
});
