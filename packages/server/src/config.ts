/**
 * Service configuration: environment variables (names in DESIGN "Running it"), optionally a JSON
 * file (`--config <file>` or `TESSERA_CONFIG`), validated as a whole before anything starts. A bad
 * value stops the start with a message that names the setting as the operator wrote it.
 *
 * Precedence: command-line flag > environment > config file > default.
 */
import { readFileSync } from 'node:fs';
import { TesseraError, parseDuration, resolvePolicy, type Policy, type PolicyInput } from '@tessera/core';
import { DEFAULT_LOGIN_LIMITS, type LoginLimits } from './login-throttle.js';
import { DEFAULT_STORE_URL, redactUrl, storeScheme } from './open-store.js';
import { normaliseOrigin } from './transport.js';

export interface ServiceConfig {
  production: boolean;
  store: string;
  port: number;
  host: string;
  issuer: string;
  audience: string[];
  adminKey: string | null;
  allowedOrigins: string[];
  policy: Policy;
  trustProxy: boolean | number | string[];
  logLevel: string;
  loginLimits: LoginLimits;
  /** Create a demo user with a random password on first start (never in production). */
  demoUser: boolean;
  /** Where the file settings came from, if any. */
  configFile: string | null;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The setting as the operator named it: `TESSERA_PORT`, or `port (in ./tessera.json)`. */
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.setting = setting;
  }
}

/** Every setting: its environment name and its key in the config file. */
export const SETTINGS = {
  store: 'TESSERA_STORE',
  port: 'TESSERA_PORT',
  host: 'TESSERA_HOST',
  issuer: 'TESSERA_ISSUER',
  audience: 'TESSERA_AUDIENCE',
  adminKey: 'TESSERA_ADMIN_KEY',
  allowedOrigins: 'TESSERA_ALLOWED_ORIGINS',
  accessTtl: 'TESSERA_ACCESS_TTL',
  idleTimeout: 'TESSERA_IDLE_TIMEOUT',
  absoluteTimeout: 'TESSERA_ABSOLUTE_TIMEOUT',
  leeway: 'TESSERA_LEEWAY',
  refreshGrace: 'TESSERA_REFRESH_GRACE',
  maxSessionsPerUser: 'TESSERA_MAX_SESSIONS_PER_USER',
  onLimit: 'TESSERA_ON_LIMIT',
  trustProxy: 'TESSERA_TRUST_PROXY',
  logLevel: 'TESSERA_LOG_LEVEL',
  loginMaxPerAccount: 'TESSERA_LOGIN_MAX_PER_ACCOUNT',
  loginMaxPerAddress: 'TESSERA_LOGIN_MAX_PER_ADDRESS',
  loginWindow: 'TESSERA_LOGIN_WINDOW',
  demoUser: 'TESSERA_DEMO_USER',
} as const;

export type SettingKey = keyof typeof SETTINGS;

/** The admin key guards every session of every user: at least 256 bits' worth of characters. */
export const ADMIN_KEY_MIN_LENGTH = 32;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoadConfigInput {
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file (overrides `TESSERA_CONFIG`). */
  configFile?: string | null;
  /** Command-line values, already split from argv (e.g. `--store`, `--port`). */
  overrides?: Partial<Record<SettingKey, string>>;
  /**
   * `serve` (default) enforces the production requirements; `admin` (the other CLI verbs, which only
   * open the store) does not need an admin key or allowed origins.
   */
  purpose?: 'serve' | 'admin';
}

type Raw = unknown;

export function loadConfig(input: LoadConfigInput = {}): ServiceConfig {
  const env = input.env ?? process.env;
  const configFile = input.configFile ?? (env.TESSERA_CONFIG || null);
  const file = configFile ? readConfigFile(configFile) : {};
  const production = env.NODE_ENV === 'production';

  const lookup = (key: SettingKey): { value: Raw; name: string } | undefined => {
    const override = input.overrides?.[key];
    if (override !== undefined) return { value: override, name: `--${kebab(key)}` };
    const fromEnv = env[SETTINGS[key]];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, name: SETTINGS[key] };
    if (Object.hasOwn(file, key) && file[key] !== undefined && file[key] !== null) return { value: file[key], name: `${key} (in ${configFile})` };
    return undefined;
  };

  const store = str(lookup('store')) ?? DEFAULT_STORE_URL;
  if (storeScheme(store) === null) {
    throw new ConfigError(
      lookup('store')!.name,
      `must be sqlite:<path>, memory:, redis://host:port, redis-cluster://host:port,... or postgres://..., got ${JSON.stringify(redactUrl(store))}`,
    );
  }
  const port = int(lookup('port'), 0, 65_535) ?? 8080;
  const host = str(lookup('host')) ?? 'localhost';
  const adminKey = str(lookup('adminKey')) ?? null;
  if (adminKey !== null && adminKey.length < ADMIN_KEY_MIN_LENGTH) {
    throw new ConfigError(lookup('adminKey')!.name, `must be at least ${ADMIN_KEY_MIN_LENGTH} characters (e.g. openssl rand -base64 32)`);
  }
  const issuer = str(lookup('issuer')) ?? null;
  const audience = list(lookup('audience')) ?? ['tessera'];
  if (audience.length === 0) throw new ConfigError(lookup('audience')!.name, 'must name at least one audience');
  let allowedOrigins = origins(lookup('allowedOrigins'));

  if (production && (input.purpose ?? 'serve') === 'serve') {
    // A production start never relies on a default that only makes sense on a laptop.
    const missing = [
      adminKey === null ? SETTINGS.adminKey : null,
      issuer === null ? SETTINGS.issuer : null,
      allowedOrigins === null ? SETTINGS.allowedOrigins : null,
    ].filter((x) => x !== null) as string[];
    if (missing.length > 0) {
      throw new ConfigError(missing[0]!, `is required when NODE_ENV=production (missing: ${missing.join(', ')})`);
    }
  }
  // In development the service's own origin may make cookie requests (the curl session of the README).
  allowedOrigins ??= [`http://localhost:${port}`, `http://127.0.0.1:${port}`];

  const policyInput: PolicyInput = {};
  for (const key of ['accessTtl', 'idleTimeout', 'absoluteTimeout', 'leeway', 'refreshGrace'] as const) {
    const found = lookup(key);
    if (found) policyInput[key] = duration(found);
  }
  const maxSessions = int(lookup('maxSessionsPerUser'), 0, 1_000_000);
  if (maxSessions !== undefined) policyInput.maxSessionsPerUser = maxSessions;
  const onLimit = lookup('onLimit');
  if (onLimit) {
    if (onLimit.value !== 'evict-oldest' && onLimit.value !== 'reject') {
      throw new ConfigError(onLimit.name, `must be evict-oldest or reject, got ${JSON.stringify(onLimit.value)}`);
    }
    policyInput.onLimit = onLimit.value;
  }
  let policy: Policy;
  try {
    policy = resolvePolicy(policyInput);
  } catch (error) {
    // Cross-setting rules (absolute ≥ idle, ...): blame a setting the operator actually wrote, and
    // speak of every setting by the name the operator uses.
    const message = error instanceof Error ? error.message : String(error);
    const keys = (Object.keys(SETTINGS) as SettingKey[])
      .map((key) => ({ key, at: message.search(new RegExp(`\\b${key}\\b`)) }))
      .filter((k) => k.at >= 0)
      .sort((a, b) => a.at - b.at)
      .map((k) => k.key);
    const blamed = keys.find((key) => lookup(key)) ?? keys[0];
    const named = keys.reduce((text, key) => text.replace(new RegExp(`\\b${key}\\b`, 'g'), lookup(key)?.name ?? SETTINGS[key]), message);
    throw new ConfigError(blamed ? (lookup(blamed)?.name ?? SETTINGS[blamed]) : 'policy', named);
  }

  const logLevel = str(lookup('logLevel')) ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(lookup('logLevel')!.name, `must be one of ${LOG_LEVELS.join(', ')}`);

  const loginLimits: LoginLimits = {
    perAccount: int(lookup('loginMaxPerAccount'), 0, 1_000_000) ?? DEFAULT_LOGIN_LIMITS.perAccount,
    perAddress: int(lookup('loginMaxPerAddress'), 0, 1_000_000) ?? DEFAULT_LOGIN_LIMITS.perAddress,
    window: lookup('loginWindow') ? duration(lookup('loginWindow')!) : DEFAULT_LOGIN_LIMITS.window,
  };
  if (loginLimits.window < 1000) throw new ConfigError(lookup('loginWindow')!.name, 'must be at least 1s');

  const demoUser = bool(lookup('demoUser')) ?? !production;
  if (production && demoUser) throw new ConfigError(lookup('demoUser')!.name, 'a demo user is never created when NODE_ENV=production');

  return {
    production,
    store,
    port,
    host,
    issuer: issuer ?? `http://localhost:${port}`,
    audience,
    adminKey,
    allowedOrigins,
    policy,
    trustProxy: trustProxy(lookup('trustProxy')),
    logLevel,
    loginLimits,
    demoUser,
    configFile,
  };
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('TESSERA_CONFIG', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError('TESSERA_CONFIG', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError('TESSERA_CONFIG', `${path} must hold a JSON object`);
  for (const key of Object.keys(parsed)) {
    if (!Object.hasOwn(SETTINGS, key)) {
      throw new ConfigError(`${key} (in ${path})`, `is not a setting; known settings: ${Object.keys(SETTINGS).join(', ')}`);
    }
  }
  return parsed as Record<string, unknown>;
}

function str(found: { value: Raw; name: string } | undefined): string | undefined {
  if (!found) return undefined;
  if (typeof found.value !== 'string' || found.value.trim() === '') throw new ConfigError(found.name, 'must be a non-empty string');
  return found.value.trim();
}

function int(found: { value: Raw; name: string } | undefined, min: number, max: number): number | undefined {
  if (!found) return undefined;
  const n = typeof found.value === 'string' && /^\s*\d+\s*$/.test(found.value) ? Number(found.value) : found.value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(found.name, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(found.value)}`);
  }
  return n;
}

function bool(found: { value: Raw; name: string } | undefined): boolean | undefined {
  if (!found) return undefined;
  if (typeof found.value === 'boolean') return found.value;
  if (found.value === 'true' || found.value === '1') return true;
  if (found.value === 'false' || found.value === '0') return false;
  throw new ConfigError(found.name, `must be true or false, got ${JSON.stringify(found.value)}`);
}

function duration(found: { value: Raw; name: string }): number {
  if (typeof found.value !== 'string' && typeof found.value !== 'number') throw new ConfigError(found.name, 'must be a duration such as 90s, 10m or 7d');
  try {
    return parseDuration(found.value, found.name);
  } catch (error) {
    throw new ConfigError(found.name, `must be a duration such as 90s, 10m or 7d, got ${JSON.stringify(found.value)}`);
  }
}

function list(found: { value: Raw; name: string } | undefined): string[] | undefined {
  if (!found) return undefined;
  const items = typeof found.value === 'string' ? found.value.split(',') : found.value;
  if (!Array.isArray(items) || items.some((i) => typeof i !== 'string')) throw new ConfigError(found.name, 'must be a comma-separated list (or a JSON array of strings)');
  return (items as string[]).map((i) => i.trim()).filter(Boolean);
}

function origins(found: { value: Raw; name: string } | undefined): string[] | null {
  const items = list(found);
  if (items === undefined) return null;
  if (items.length === 0) throw new ConfigError(found!.name, 'must list at least one origin');
  return items.map((item) => {
    if (item === '*') throw new ConfigError(found!.name, '"*" is not allowed: credentials are never shared with every origin');
    const origin = normaliseOrigin(item);
    if (origin === null) throw new ConfigError(found!.name, `${JSON.stringify(item)} is not an origin like https://app.example.com (scheme, host, optional port; no path)`);
    return origin;
  });
}

function trustProxy(found: { value: Raw; name: string } | undefined): boolean | number | string[] {
  if (!found) return false;
  const value = found.value;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) return Number(value);
  const items = list(found)!;
  if (items.length === 0) throw new ConfigError(found.name, 'must be true, false, a hop count, or a list of proxy addresses/CIDRs');
  return items;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Configuration errors from core (`invalid_config`) and from here, as one message. */
export function configMessage(error: unknown): string | null {
  if (error instanceof ConfigError) return `invalid configuration: ${error.message}`;
  if (error instanceof TesseraError && error.code === 'invalid_config') return `invalid configuration: ${error.message}`;
  return null;
}
