/**
 * The dashboard's API client and its event follower against a real service (in-process, memory
 * store): every call the dashboard makes, as the service answers it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '@tessera/core';
import { buildServer, type TesseraServer } from '@tessera/server';
import { AdminApiError, createAdminApi, keyProblem, type StoredEvent } from './admin-api';
import { followEvents } from './event-feed';
import { describeKeys } from './keys';

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

  it('looks a built-in user up by username or id; null for neither', async () => {
    const api = createAdminApi(KEY, origin);
    const created = await server.tessera.users.create('Grace', 'graces long passphrase');
    const grace = { id: created.id, username: 'grace', createdAt: created.createdAt };
    expect(await api.user('grace')).toEqual(grace);
    expect(await api.user('GRACE')).toEqual(grace);
    expect(await api.user(created.id)).toEqual(grace);
    expect(await api.user('nobody')).toBeNull();
    expect(await api.user('usr_lookup')).toBeNull(); // an application's own user id: not a built-in user
    const refused = await createAdminApi('not-the-key', origin).user('grace').catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'unauthorized', status: 401 });
  });

  it('reads the signing keys with their times, and tells which one signs now', async () => {
    const api = createAdminApi(KEY, origin);
    const before = await api.keys();
    expect(before.keys).toHaveLength(1);
    expect(describeKeys(before).map((k) => k.state)).toEqual(['signing']);
    const jwks = (await (await fetch(`${origin}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(before.keys.map((k) => k.kid)).toEqual(jwks.keys.map((k) => k.kid));

    const next = await server.tessera.engine.rotateKeys();
    const after = await api.keys();
    expect(Math.abs(after.now - Date.now())).toBeLessThan(5000);
    const shown = describeKeys(after);
    expect(shown.map((k) => [k.kid, k.state])).toEqual([
      [next, 'published'],
      [before.keys[0]!.kid, 'signing'],
    ]);
    expect(shown[0]).toMatchObject({ retiresAt: null, expiresAt: null });
    expect(shown[0]!.createdAt).toBeLessThanOrEqual(after.now);
    expect(shown[0]!.activatesAt - shown[0]!.createdAt).toBe(10 * 60_000);
    expect(shown[1]!.retiresAt).toBe(shown[0]!.activatesAt);
    expect(JSON.stringify(after)).not.toMatch(/"(d|x)"/);
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
