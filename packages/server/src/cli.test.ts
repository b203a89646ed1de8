/**
 * The real `tessera` command, spawned: help, configuration errors, the production guard, a first
 * start (key, demo user, URL), graceful shutdown, and the administration verbs on a store.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SETTINGS } from './config.js';
import { json, printedAdminKey, serve, tessera, type ServeProcess } from './testing/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
const running: ServeProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const PRODUCTION = {
  NODE_ENV: 'production',
  TESSERA_ADMIN_KEY: 'production-admin-key-0123456789abcdef',
  TESSERA_ISSUER: 'https://auth.example.com',
  TESSERA_ALLOWED_ORIGINS: 'https://app.example.com',
};

describe('tessera --help', () => {
  it('prints the commands; per-verb help; unknown commands and options exit 2', async () => {
    const help = await tessera(['--help']);
    expect(help.code).toBe(0);
    for (const verb of ['serve', 'users add', 'users list', 'users remove', 'sessions list', 'sessions revoke', 'sessions revoke-user', 'keys list', 'keys rotate']) {
      expect(help.stdout).toContain(verb);
    }
    const serveHelp = await tessera(['serve', '--help']);
    expect(serveHelp.code).toBe(0);
    for (const env of Object.values(SETTINGS)) expect(serveHelp.stdout).toContain(env);
    for (const topic of ['users', 'sessions', 'keys']) {
      const a = await tessera([topic, '--help']);
      const b = await tessera(['help', topic]);
      expect(a.code).toBe(0);
      expect(a.stdout).toBe(b.stdout);
      expect(a.stdout).toContain(`tessera ${topic}`);
    }
    expect((await tessera([])).code).toBe(2);
    const unknown = await tessera(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const option = await tessera(['serve', '--colour']);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain('unknown option --colour');
  }, 60_000);
});

describe('tessera serve: configuration', () => {
  it('a bad value stops the start with a message naming the setting (exit 2)', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ TESSERA_PORT: 'eighty' }, 'TESSERA_PORT'],
      [{ TESSERA_ACCESS_TTL: 'soon' }, 'TESSERA_ACCESS_TTL'],
      [{ TESSERA_STORE: 'mongodb://localhost' }, 'TESSERA_STORE'],
      [{ TESSERA_ALLOWED_ORIGINS: '*' }, 'TESSERA_ALLOWED_ORIGINS'],
    ];
    for (const [env, setting] of cases) {
      const result = await tessera(['serve'], { env: { ...env, TESSERA_STORE: env.TESSERA_STORE ?? 'memory:' } });
      expect({ setting, code: result.code }).toEqual({ setting, code: 2 });
      expect(result.stderr).toMatch(new RegExp(`^tessera: invalid configuration: ${setting}: `));
      expect(result.stdout).not.toContain('listening');
    }
    const file = await tessera(['--config', join(dir, 'nope.json'), 'serve']);
    expect(file.code).toBe(2);
    expect(file.stderr).toContain('TESSERA_CONFIG');
  }, 60_000);

  it('NODE_ENV=production refuses to start without admin key, issuer and allowed origins', async () => {
    for (const missing of ['TESSERA_ADMIN_KEY', 'TESSERA_ISSUER', 'TESSERA_ALLOWED_ORIGINS']) {
      const env: Record<string, string | undefined> = { ...PRODUCTION, TESSERA_STORE: 'memory:', [missing]: undefined };
      const result = await tessera(['serve'], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${missing}: is required when NODE_ENV=production`);
      // Production never falls back to a generated admin key.
      expect(result.stdout).not.toContain('admin key');
    }
  }, 60_000);

  it('production with everything set: starts, creates no demo user', async () => {
    const store = `sqlite:${join(dir, 'production.db')}`;
    const p = await serve({ env: { ...PRODUCTION, TESSERA_STORE: store } });
    running.push(p);
    expect(p.stdout()).not.toContain('demo');
    expect(await printedAdminKey(p, 500)).toBeNull();
    expect((await json(`${p.url}/v1/admin/keys`, { token: PRODUCTION.TESSERA_ADMIN_KEY })).status).toBe(200);
    expect((await json(`${p.url}/readyz`)).status).toBe(200);
    expect((await json(`${p.url}/v1/admin/users/x/sessions`, { token: PRODUCTION.TESSERA_ADMIN_KEY })).status).toBe(200);
    expect(await p.stop()).toEqual({ code: 0, signal: null });
    const users = await tessera(['users', 'list'], { env: { ...PRODUCTION, TESSERA_STORE: store } });
    expect(users.stdout.trim()).toBe('no users');
  }, 60_000);
});

describe('tessera serve: first start', () => {
  it('on SQLite under ./data: generates the first key, creates and prints the demo user once, prints the URL', async () => {
    const cwd = mkdtempSync(join(dir, 'fresh-'));
    const first = await serve({ cwd });
    running.push(first);
    expect(existsSync(join(cwd, 'data', 'tessera.db'))).toBe(true);
    const out = first.stdout();
    expect(out).toMatch(/^Created the demo user/m);
    const password = /password: (\S+)/.exec(out)![1]!;
    expect(out).toMatch(/username: demo/);
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(out).toContain(`Tessera is listening on ${first.url}`);

    const jwks = await json(`${first.url}/.well-known/jwks.json`);
    expect(jwks.body.keys).toHaveLength(1);
    const login = await json(`${first.url}/v1/auth/login`, { body: { username: 'demo', password, transport: 'header' } });
    expect(login.status).toBe(200);

    // No TESSERA_ADMIN_KEY in development: a key for this run (256 random bits, base64url), printed
    // once, just after the URLs; the admin API (and so the dashboard) works with it.
    const adminKey = (await printedAdminKey(first))!;
    expect(adminKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.stdout().split(adminKey)).toHaveLength(2);
    expect(first.stdout()).toMatch(new RegExp(`^Tessera is listening on .*\n(  the .*\n)*  admin key: +${adminKey} `, 'm'));
    expect(first.stderr()).not.toContain(adminKey);
    const keys = await json(`${first.url}/v1/admin/keys`, { token: adminKey });
    expect(keys.status).toBe(200);
    expect(keys.body.keys.map((k: any) => k.kid)).toEqual([jwks.body.keys[0].kid]);
    expect((await json(`${first.url}/v1/admin/keys`)).status).toBe(401);
    expect((await json(`${first.url}/v1/admin/keys`, { token: `${adminKey}x` })).status).toBe(401);
    expect(await first.stop()).toEqual({ code: 0, signal: null });

    // The second start finds the user and the key: nothing is created or printed again.
    const second = await serve({ cwd });
    running.push(second);
    expect(second.stdout()).not.toContain('demo');
    // A new admin key for each run: the last run's is refused.
    const secondKey = (await printedAdminKey(second))!;
    expect(secondKey).not.toBe(adminKey);
    expect((await json(`${second.url}/v1/admin/keys`, { token: adminKey })).status).toBe(401);
    expect((await json(`${second.url}/v1/admin/keys`, { token: secondKey })).status).toBe(200);
    expect((await json(`${second.url}/.well-known/jwks.json`)).body).toEqual(jwks.body);
    const again = await json(`${second.url}/v1/auth/login`, { body: { username: 'demo', password, transport: 'header' } });
    expect(again.status).toBe(200);
    expect((await json(`${second.url}/v1/sessions`, { token: login.body.accessToken })).status).toBe(200);
    expect(await second.stop()).toEqual({ code: 0, signal: null });
  }, 90_000);
});

describe('tessera serve: a configured admin key in development', () => {
  it('is the one used: none is generated or printed', async () => {
    const configured = 'development-admin-key-0123456789abcdef';
    const p = await serve({ env: { TESSERA_STORE: 'memory:', TESSERA_ADMIN_KEY: configured } });
    running.push(p);
    expect(await printedAdminKey(p, 500)).toBeNull();
    expect(p.stdout()).not.toContain(configured);
    expect((await json(`${p.url}/v1/admin/keys`, { token: configured })).status).toBe(200);
    expect(await p.stop()).toEqual({ code: 0, signal: null });
  }, 60_000);
});

describe('tessera serve: graceful shutdown', () => {
  it('SIGTERM lets an in-flight request finish, then refuses connections and exits 0', async () => {
    const store = `sqlite:${join(dir, 'shutdown.db')}`;
    const add = await tessera(['users', 'add', 'erin', '--password-stdin'], { env: { TESSERA_STORE: store }, input: 'erins long passphrase\n' });
    expect(add.code).toBe(0);
    const p = await serve({ env: { TESSERA_STORE: store, TESSERA_DEMO_USER: 'false' } });
    running.push(p);
    // A login costs a full OWASP scrypt (N=2^17): it is still running when the signal arrives.
    const inFlight = json(`${p.url}/v1/auth/login`, { body: { username: 'erin', password: 'erins long passphrase', transport: 'header' } });
    await new Promise((r) => setTimeout(r, 30));
    p.child.kill('SIGTERM');
    const reply = await inFlight;
    expect(reply.status).toBe(200);
    expect(reply.body.accessToken).toBeTruthy();
    expect(await p.exited).toEqual({ code: 0, signal: null });
    await expect(fetch(`${p.url}/healthz`)).rejects.toThrow();
  }, 60_000);
});

describe('tessera users / sessions / keys on a store', () => {
  it('manage users, sessions and keys; a running server honours a revocation made by the CLI', async () => {
    const store = `sqlite:${join(dir, 'admin.db')}`;
    const env = { TESSERA_STORE: store, TESSERA_DEMO_USER: 'false' };
    const added = await tessera(['users', 'add', 'Frank'], { env });
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^created user frank \(id usr_[\w-]+\)$/m);
    const password = /password: (\S+)/.exec(added.stdout)![1]!;
    const weak = await tessera(['users', 'add', 'gina', '--password-stdin'], { env, input: 'short\n' });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('invalid_request');
    expect((await tessera(['users', 'add', 'gina', '--password-stdin'], { env, input: 'ginas passphrase!\n' })).code).toBe(0);
    const duplicate = await tessera(['users', 'add', 'GINA'], { env });
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('conflict');
    const list = await tessera(['users', 'list', '--json'], { env });
    expect(JSON.parse(list.stdout).map((u: any) => u.username)).toEqual(['frank', 'gina']);
    expect(list.stdout).not.toContain('scrypt');

    const p = await serve({ env });
    running.push(p);
    const a = await json(`${p.url}/v1/auth/login`, { body: { username: 'frank', password, transport: 'header' } });
    const b = await json(`${p.url}/v1/auth/login`, { body: { username: 'frank', password, transport: 'header', device: { name: 'Phone', kind: 'mobile' } } });
    expect([a.status, b.status]).toEqual([200, 200]);

    const sessions = await tessera(['sessions', 'list', 'frank', '--json'], { env });
    expect(JSON.parse(sessions.stdout).map((s: any) => s.sid).sort()).toEqual([a.body.session.id, b.body.session.id].sort());
    // <user> is a username (normalised) or else a user id: the lookup of GET /v1/admin/users/:usernameOrId.
    const frankId = /\(id (usr_[\w-]+)\)/.exec(added.stdout)![1]!;
    for (const user of ['FRANK', frankId]) expect((await tessera(['sessions', 'list', user, '--json'], { env })).stdout).toBe(sessions.stdout);
    const revoke = await tessera(['sessions', 'revoke', a.body.session.id], { env });
    expect(revoke.stdout.trim()).toBe(`revoked ${a.body.session.id}`);
    // The server is another process: it hears of the revocation through the store's feed.
    await expect.poll(async () => (await json(`${p.url}/v1/sessions`, { token: a.body.accessToken })).body?.error?.code, { timeout: 3000, interval: 25 }).toBe('session_revoked');
    expect((await tessera(['sessions', 'revoke', 'AAAAAAAAAAAAAAAAAAAAAAAAAA'], { env })).code).toBe(1);
    expect((await tessera(['sessions', 'revoke-user', 'frank'], { env })).stdout.trim()).toBe('revoked 1 session(s)');
    await expect.poll(async () => (await json(`${p.url}/v1/sessions`, { token: b.body.accessToken })).status, { timeout: 3000, interval: 25 }).toBe(401);

    const keys = await tessera(['keys', 'list', '--json'], { env });
    const before = JSON.parse(keys.stdout);
    expect(before).toHaveLength(1);
    expect(keys.stdout).not.toMatch(/"d":/);
    // The same facts as the admin API's (and so the dashboard's), with no key material.
    const adminKey = (await printedAdminKey(p))!;
    const served = await json(`${p.url}/v1/admin/keys`, { token: adminKey });
    expect(before).toEqual(served.body.keys);
    expect(Object.keys(before[0])).toEqual(['kid', 'createdAt', 'activatesAt', 'retiresAt', 'expiresAt']);
    const rotated = await tessera(['keys', 'rotate'], { env });
    expect(rotated.stdout).toMatch(/published key \S+; it signs in 10 minutes/);
    const now = await tessera(['keys', 'rotate', '--now'], { env });
    expect(now.stdout).toMatch(/it signs now/);
    const human = await tessera(['keys', 'list'], { env });
    const lines = human.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    // Oldest first (by when they sign from): the first key, retired; the --now key, signing; the key
    // published to sign in 10 minutes, retired by the --now rotation before it ever signed.
    const after = JSON.parse((await tessera(['keys', 'list', '--json'], { env })).stdout);
    expect(lines.map((line) => line.split(/\s+/)[0])).toEqual(after.map((k: any) => k.kid));
    expect(after.map((k: any) => k.kid)).toEqual([before[0].kid, /published key (\S+);/.exec(now.stdout)![1], /published key (\S+);/.exec(rotated.stdout)![1]]);
    expect(lines[0]).toMatch(/ retired \(verifies only\) +published \S+Z {2}signs from \S+Z {2}retires \S+Z {2}leaves JWKS \S+Z$/);
    expect(lines[1]).toMatch(/ signing +published \S+Z {2}signs from \S+Z {2}retires - {2}leaves JWKS -$/);
    expect(lines[2]).toMatch(/ retired \(verifies only\) +published \S+Z {2}signs from \S+Z {2}retires \S+Z {2}leaves JWKS \S+Z$/);

    const removed = await tessera(['users', 'remove', 'gina'], { env });
    expect(removed.stdout.trim()).toBe('removed user gina; revoked 0 session(s)');
    expect((await tessera(['users', 'remove', 'gina'], { env })).code).toBe(1);
    expect((await tessera(['users', 'list'], { env })).stdout).not.toContain('gina');
    expect((await tessera(['sessions', 'list'], { env })).code).toBe(2);
    await p.stop();
  }, 120_000);
});
