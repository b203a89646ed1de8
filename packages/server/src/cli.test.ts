/**
 * The real `tessera` command, spawned: help, configuration errors, the production guard, a first
 * start (key, demo user, URL), graceful shutdown, and the administration verbs on a store.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SETTINGS } from './config.js';
import { json, serve, tessera, type ServeProcess } from './testing/processes.js';

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
    }
  }, 60_000);

  it('production with everything set: starts, creates no demo user', async () => {
    const store = `sqlite:${join(dir, 'production.db')}`;
    const p = await serve({ env: { ...PRODUCTION, TESSERA_STORE: store } });
    running.push(p);
    expect(p.stdout()).not.toContain('demo');
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
    expect(await first.stop()).toEqual({ code: 0, signal: null });

    // The second start finds the user and the key: nothing is created or printed again.
    const second = await serve({ cwd });
    running.push(second);
    expect(second.stdout()).not.toContain('demo');
    expect((await json(`${second.url}/.well-known/jwks.json`)).body).toEqual(jwks.body);
    const again = await json(`${second.url}/v1/auth/login`, { body: { username: 'demo', password, transport: 'header' } });
    expect(again.status).toBe(200);
    expect((await json(`${second.url}/v1/sessions`, { token: login.body.accessToken })).status).toBe(200);
    expect(await second.stop()).toEqual({ code: 0, signal: null });
  }, 90_000);
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
    const rotated = await tessera(['keys', 'rotate'], { env });
    expect(rotated.stdout).toMatch(/published key \S+; it signs in 10 minutes/);
    const now = await tessera(['keys', 'rotate', '--now'], { env });
    expect(now.stdout).toMatch(/it signs now/);
    const human = await tessera(['keys', 'list'], { env });
    expect(human.stdout.trim().split('\n')).toHaveLength(3);
    expect(human.stdout).toContain('signing');
    expect(human.stdout).toContain('retired');

    const removed = await tessera(['users', 'remove', 'gina'], { env });
    expect(removed.stdout.trim()).toBe('removed user gina; revoked 0 session(s)');
    expect((await tessera(['users', 'remove', 'gina'], { env })).code).toBe(1);
    expect((await tessera(['users', 'list'], { env })).stdout).not.toContain('gina');
    expect((await tessera(['sessions', 'list'], { env })).code).toBe(2);
    await p.stop();
  }, 120_000);
});
