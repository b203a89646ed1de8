/**
 * `tessera serve`: opens the configured store, builds the service, creates the demo user on a first
 * development start, generates an admin key for a development run that has none, serves the built
 * shop and dashboard, listens, and shuts down gracefully on SIGTERM/SIGINT.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadBuiltApps, serveBuiltApps, type BuiltApp } from './built-apps.js';
import { buildServer, type TesseraServer } from './server.js';
import type { ServiceConfig } from './config.js';
import { openStore, redactUrl } from './open-store.js';
import { randomPassword } from './users.js';

export interface RunningService {
  app: TesseraServer;
  url: string;
  /** Stops accepting, lets in-flight requests finish, closes sockets, the engine and the store. */
  close(): Promise<void>;
}

export const DEMO_USERNAME = 'demo';

/** An admin key for one development run: 256 bits from the CSPRNG, base64url (43 characters). */
export function generateAdminKey(): string {
  return randomBytes(32).toString('base64url');
}

export async function startService(config: ServiceConfig, print: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<RunningService> {
  // Development without a configured key: one for this run, so that the dashboard works out of the
  // box. It is printed once below and never logged (the logger redacts `adminKey`, and nothing passes
  // it to a log line). Production never gets here without a key (config.ts refuses to start).
  const generatedAdminKey = config.adminKey === null && !config.production ? generateAdminKey() : null;
  const adminKey = config.adminKey ?? generatedAdminKey;
  const store = await openStore(config.store);
  let app: TesseraServer;
  try {
    app = await buildServer({
      store,
      issuer: config.issuer,
      audience: config.audience.length === 1 ? config.audience[0]! : config.audience,
      policy: config.policy,
      adminKey,
      allowedOrigins: config.allowedOrigins,
      trustProxy: config.trustProxy,
      loginLimits: config.loginLimits,
      logger: { level: config.logLevel },
    });
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  let apps: BuiltApp[];
  try {
    // The admin dashboard wherever it was built; the demo shop never in production.
    apps = loadBuiltApps().filter((built) => !(config.production && built.name === '@tessera/shop'));
    serveBuiltApps(app, apps);
    if (config.demoUser && !config.production) await createDemoUser(app, print);
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  const url = listenUrl(app, config.host);
  const adminApi = generatedAdminKey ? 'on, key generated for this run' : adminKey ? 'on' : 'off';
  app.log.info({ url, store: redactUrl(config.store), issuer: config.issuer, apps: apps.map((built) => built.mount), adminApi }, 'tessera is listening');
  print(`Tessera is listening on ${url} (store ${redactUrl(config.store)})`);
  if (apps.some((built) => built.name === '@tessera/shop')) print(`  the shop:             ${url}/`);
  if (apps.some((built) => built.name === '@tessera/admin')) print(`  the admin dashboard:  ${url}/admin/${adminKey ? '' : ' (set TESSERA_ADMIN_KEY to use it)'}`);
  // The one place the generated key is ever written, like the demo user's password: shown once.
  if (generatedAdminKey) print(`  admin key:            ${generatedAdminKey}   (generated for this run only; set TESSERA_ADMIN_KEY to keep one)`);
  return { app, url, close: () => app.close() };
}

/**
 * On a store with no users at all, creates `demo` with a random password and prints it once. The
 * password is not logged and not kept anywhere in clear: lose it, and `tessera users remove demo`
 * followed by a restart makes a new one.
 */
async function createDemoUser(app: TesseraServer, print: (line: string) => void): Promise<void> {
  const users = app.tessera.users;
  if ((await users.list()).length > 0) return;
  const password = randomPassword();
  await users.create(DEMO_USERNAME, password);
  print('Created the demo user (this password is shown only once):');
  print(`  username: ${DEMO_USERNAME}`);
  print(`  password: ${password}`);
}

function listenUrl(app: TesseraServer, host: string): string {
  const address = app.server.address() as AddressInfo;
  const shown = host === 'localhost' || host === '0.0.0.0' || host === '::' ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${shown}:${address.port}`;
}

/** SIGTERM/SIGINT: stop accepting, finish in-flight requests, close everything; force-exit after `graceMs`. */
export function closeOnSignals(service: RunningService, graceMs = 10_000): void {
  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    service.app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      service.app.log.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, graceMs);
    force.unref();
    service.close().then(
      () => {
        service.app.log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        service.app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
