import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { openStore } from './open-store.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PRODUCTION = {
  NODE_ENV: 'production',
  TESSERA_ADMIN_KEY: 'k'.repeat(40),
  TESSERA_ISSUER: 'https://auth.example.com',
  TESSERA_ALLOWED_ORIGINS: 'https://app.example.com',
};

function failure(env: NodeJS.ProcessEnv, extra: Parameters<typeof loadConfig>[0] = {}): ConfigError {
  try {
    loadConfig({ env, ...extra });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a configuration error');
}

describe('configuration', () => {
  it('development defaults: SQLite under ./data, port 8080, the service’s own origins, a demo user', () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({
      production: false,
      store: 'sqlite:./data/tessera.db',
      port: 8080,
      host: 'localhost',
      issuer: 'http://localhost:8080',
      audience: ['tessera'],
      adminKey: null,
      allowedOrigins: ['http://localhost:8080', 'http://127.0.0.1:8080'],
      demoUser: true,
      trustProxy: false,
    });
    expect(config.policy).toMatchObject({ accessTtl: 600_000, idleTimeout: 7 * 86_400_000, maxSessionsPerUser: 10, onLimit: 'evict-oldest' });
  });

  it('reads every setting from the environment', () => {
    const config = loadConfig({
      env: {
        TESSERA_STORE: 'redis://127.0.0.1:6379',
        TESSERA_PORT: '9000',
        TESSERA_HOST: '0.0.0.0',
        TESSERA_ISSUER: 'https://auth.example.com',
        TESSERA_AUDIENCE: 'api, web',
        TESSERA_ADMIN_KEY: 'x'.repeat(32),
        TESSERA_ALLOWED_ORIGINS: 'https://App.Example.com:443, http://localhost:5173/',
        TESSERA_ACCESS_TTL: '5m',
        TESSERA_IDLE_TIMEOUT: '1d',
        TESSERA_ABSOLUTE_TIMEOUT: '7d',
        TESSERA_LEEWAY: '10s',
        TESSERA_REFRESH_GRACE: '5s',
        TESSERA_MAX_SESSIONS_PER_USER: '3',
        TESSERA_ON_LIMIT: 'reject',
        TESSERA_TRUST_PROXY: '1',
        TESSERA_LOG_LEVEL: 'warn',
        TESSERA_LOGIN_MAX_PER_ACCOUNT: '5',
        TESSERA_LOGIN_MAX_PER_ADDRESS: '50',
        TESSERA_LOGIN_WINDOW: '15m',
        TESSERA_DEMO_USER: 'false',
      },
    });
    expect(config).toMatchObject({
      store: 'redis://127.0.0.1:6379',
      port: 9000,
      host: '0.0.0.0',
      audience: ['api', 'web'],
      allowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
      trustProxy: 1,
      logLevel: 'warn',
      loginLimits: { perAccount: 5, perAddress: 50, window: 900_000 },
      demoUser: false,
    });
    expect(config.policy).toMatchObject({ accessTtl: 300_000, idleTimeout: 86_400_000, absoluteTimeout: 7 * 86_400_000, leeway: 10_000, refreshGrace: 5000, maxSessionsPerUser: 3, onLimit: 'reject' });
  });

  it('a bad value names its setting', () => {
    const cases: [NodeJS.ProcessEnv, string, RegExp][] = [
      [{ TESSERA_PORT: 'eighty' }, 'TESSERA_PORT', /whole number/],
      [{ TESSERA_PORT: '70000' }, 'TESSERA_PORT', /0 to 65535/],
      [{ TESSERA_STORE: 'mysql://x' }, 'TESSERA_STORE', /sqlite:/],
      [{ TESSERA_ACCESS_TTL: '10 minutes' }, 'TESSERA_ACCESS_TTL', /duration/],
      [{ TESSERA_IDLE_TIMEOUT: '40d' }, 'TESSERA_IDLE_TIMEOUT', /absoluteTimeout|idle/i],
      [{ TESSERA_ON_LIMIT: 'kick' }, 'TESSERA_ON_LIMIT', /evict-oldest or reject/],
      [{ TESSERA_MAX_SESSIONS_PER_USER: '-1' }, 'TESSERA_MAX_SESSIONS_PER_USER', /whole number/],
      [{ TESSERA_ADMIN_KEY: 'short' }, 'TESSERA_ADMIN_KEY', /at least 32/],
      [{ TESSERA_ALLOWED_ORIGINS: '*' }, 'TESSERA_ALLOWED_ORIGINS', /not allowed/],
      [{ TESSERA_ALLOWED_ORIGINS: 'https://app.example.com/path' }, 'TESSERA_ALLOWED_ORIGINS', /not an origin/],
      [{ TESSERA_ALLOWED_ORIGINS: 'app.example.com' }, 'TESSERA_ALLOWED_ORIGINS', /not an origin/],
      [{ TESSERA_LOG_LEVEL: 'loud' }, 'TESSERA_LOG_LEVEL', /one of/],
      [{ TESSERA_DEMO_USER: 'maybe' }, 'TESSERA_DEMO_USER', /true or false/],
      [{ TESSERA_LOGIN_WINDOW: '10ms' }, 'TESSERA_LOGIN_WINDOW', /at least 1s/],
    ];
    for (const [env, setting, message] of cases) {
      const error = failure(env);
      expect(error.setting).toBe(setting);
      expect(error.message).toMatch(message);
      expect(error.message.startsWith(`${setting}: `)).toBe(true);
    }
  });

  it('production refuses to start without an admin key, issuer and allowed origins, and never makes a demo user', () => {
    for (const missing of ['TESSERA_ADMIN_KEY', 'TESSERA_ISSUER', 'TESSERA_ALLOWED_ORIGINS']) {
      const env: NodeJS.ProcessEnv = { ...PRODUCTION };
      delete env[missing];
      const error = failure(env);
      expect(error.setting).toBe(missing);
      expect(error.message).toMatch(/required when NODE_ENV=production/);
    }
    const config = loadConfig({ env: PRODUCTION });
    expect(config).toMatchObject({ production: true, demoUser: false, issuer: 'https://auth.example.com', allowedOrigins: ['https://app.example.com'] });
    expect(failure({ ...PRODUCTION, TESSERA_DEMO_USER: 'true' }).setting).toBe('TESSERA_DEMO_USER');
    // The administration verbs only open the store.
    expect(loadConfig({ env: { NODE_ENV: 'production' }, purpose: 'admin' }).production).toBe(true);
  });

  it('reads a JSON config file; the environment wins over it; unknown keys and bad values name the file key', () => {
    const file = join(dir, 'tessera.json');
    writeFileSync(file, JSON.stringify({ port: 7000, allowedOrigins: ['https://a.example'], accessTtl: '2m', audience: 'files' }));
    const config = loadConfig({ env: { TESSERA_CONFIG: file, TESSERA_ACCESS_TTL: '3m' } });
    expect(config).toMatchObject({ port: 7000, allowedOrigins: ['https://a.example'], audience: ['files'], configFile: file });
    expect(config.policy.accessTtl).toBe(180_000);
    expect(loadConfig({ env: {}, configFile: file, overrides: { port: '7100' } }).port).toBe(7100);

    writeFileSync(file, JSON.stringify({ prot: 7000 }));
    expect(failure({}, { configFile: file }).setting).toBe(`prot (in ${file})`);
    writeFileSync(file, JSON.stringify({ port: 'seven' }));
    expect(failure({}, { configFile: file }).setting).toBe(`port (in ${file})`);
    writeFileSync(file, '{ not json');
    expect(failure({}, { configFile: file }).message).toMatch(/not valid JSON/);
    expect(failure({}, { configFile: join(dir, 'missing.json') }).message).toMatch(/ENOENT/);
  });

  it('openStore: memory and SQLite; an unknown scheme is invalid_config', async () => {
    const memory = await openStore('memory:');
    expect(memory.kind).toBe('memory');
    await memory.close();
    const sqlite = await openStore(`sqlite:${join(dir, 'nested', 'dir', 'x.db')}`);
    await sqlite.ping();
    await sqlite.close();
    await expect(openStore('mongodb://x')).rejects.toMatchObject({ code: 'invalid_config' });
    await expect(openStore('sqlite:')).rejects.toMatchObject({ code: 'invalid_config' });
  });
});
