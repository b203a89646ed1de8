#!/usr/bin/env node
/**
 * The `tessera` command: `serve`, and the administration verbs, on any store URL.
 * Exit codes: 0 done, 1 the operation failed, 2 bad usage or configuration.
 */
import { readFileSync } from 'node:fs';
import { Engine, isTesseraError, type SessionRecord } from '@tessera/core';
import { ConfigError, SETTINGS, configMessage, loadConfig, type ServiceConfig, type SettingKey } from './config.js';
import { openStore } from './open-store.js';
import { closeOnSignals, startService } from './serve.js';
import { UserDirectory, checkNewPassword, randomPassword } from './users.js';

const VERSION = '0.1.0';

const MAIN_HELP = `tessera — sessions for web applications

Usage: tessera [--config <file>] [--store <url>] <command> [arguments]

Commands:
  serve                              start the HTTP service
  users add <username>               create a built-in user
  users list                         list built-in users
  users remove <username>            delete a user and revoke their sessions
  sessions list <user>               live sessions of a user (username or user id)
  sessions revoke <sid>              revoke one session
  sessions revoke-user <user>        revoke every session of a user
  keys list                          signing keys and their state
  keys rotate [--now]                publish a new signing key
  help [command]                     help for a command

Global options:
  --config <file>   JSON config file (also TESSERA_CONFIG)
  --store <url>     sqlite:<path> (default sqlite:./data/tessera.db), memory:, redis://h:p,
                    redis-cluster://h:p,h:p, postgres://... (also TESSERA_STORE)
  -h, --help        show help
  --version         show the version

Settings come from the environment (and the config file); run "tessera help serve" for the list.
`;

const HELP: Record<string, string> = {
  serve: `Usage: tessera serve [--port <n>] [--host <h>]

Starts the service. On a first development start it creates the first signing key and a demo user
whose random password is printed once. In development without TESSERA_ADMIN_KEY it generates an
admin key for this run and prints it once, next to the dashboard's URL. With NODE_ENV=production it
refuses to start without TESSERA_ADMIN_KEY, TESSERA_ISSUER and TESSERA_ALLOWED_ORIGINS, and creates
no demo user.
SIGTERM/SIGINT stop it gracefully (in-flight requests finish, the store is closed).

Settings (environment variable / config-file key):
${(Object.entries(SETTINGS) as [SettingKey, string][]).map(([key, env]) => `  ${env.padEnd(32)} ${key}`).join('\n')}

Durations are written 90s, 10m, 7d. Lists (origins, audiences) are comma-separated.
`,
  users: `Usage:
  tessera users add <username> [--password-stdin]
      Creates a built-in user. Without --password-stdin a random password is generated and printed once.
      (There is no --password flag: command lines are visible to every user of the machine.)
  tessera users list [--json]
  tessera users remove <username>
      Revokes every session of the user (reason admin), then deletes the user.
`,
  sessions: `Usage:
  tessera sessions list <user> [--json]     <user>: a built-in username, or any user id
  tessera sessions revoke <sid>             reason admin; every node hears it through the store's feed
  tessera sessions revoke-user <user>
`,
  keys: `Usage:
  tessera keys list [--json]
      Each key, oldest first: its state (signing, published, retired), when it was published, when it
      signs from, when it retires and when it leaves JWKS (the facts of GET /v1/admin/keys).
  tessera keys rotate [--now]
      Publishes a new Ed25519 signing key. It signs after the publish lead (10 minutes), so that remote
      verifiers fetch it first; --now makes it sign at once (tokens signed by it may be refused by
      verifiers that have not refreshed their JWKS yet).
`,
};

interface Parsed {
  positionals: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(['config', 'store', 'port', 'host']);
const BOOLEAN_FLAGS = new Set(['help', 'version', 'json', 'now', 'password-stdin']);

class UsageError extends Error {}

function parseArgs(argv: string[]): Parsed {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h') {
      flags.set('help', true);
    } else if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      if (VALUE_FLAGS.has(name)) {
        const value = inline ?? argv[++i];
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        flags.set(name, value);
      } else if (BOOLEAN_FLAGS.has(name) && inline === undefined) {
        flags.set(name, true);
      } else {
        throw new UsageError(`unknown option --${name}`);
      }
    } else {
      positionals.push(arg);
    }
  }
  return { positionals, flags };
}

export async function main(argv: string[]): Promise<number> {
  let args: Parsed;
  try {
    args = parseArgs(argv);
  } catch (error) {
    process.stderr.write(`tessera: ${(error as Error).message}\n\n${MAIN_HELP}`);
    return 2;
  }
  const [command, ...rest] = args.positionals;
  if (args.flags.has('version')) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === 'help' || command === undefined) {
    const topic = rest[0];
    if (topic !== undefined && !HELP[topic]) {
      process.stderr.write(`tessera: no help for ${JSON.stringify(topic)}\n\n${MAIN_HELP}`);
      return 2;
    }
    process.stdout.write(topic ? HELP[topic]! : MAIN_HELP);
    return command === undefined && !args.flags.has('help') ? 2 : 0;
  }
  if (!HELP[command]) {
    process.stderr.write(`tessera: unknown command ${JSON.stringify(command)}\n\n${MAIN_HELP}`);
    return 2;
  }
  if (args.flags.has('help')) {
    process.stdout.write(HELP[command]);
    return 0;
  }

  let config: ServiceConfig;
  try {
    const overrides: Partial<Record<SettingKey, string>> = {};
    for (const key of ['store', 'port', 'host'] as const) {
      const value = args.flags.get(key);
      if (typeof value === 'string') overrides[key] = value;
    }
    const configFile = args.flags.get('config');
    config = loadConfig({
      overrides,
      ...(typeof configFile === 'string' ? { configFile } : {}),
      purpose: command === 'serve' ? 'serve' : 'admin',
    });
  } catch (error) {
    const message = configMessage(error);
    if (message === null) throw error;
    process.stderr.write(`tessera: ${message}\n`);
    return 2;
  }

  try {
    if (command === 'serve') {
      if (rest.length > 0) throw new UsageError(`serve takes no arguments\n\n${HELP.serve}`);
      const service = await startService(config);
      closeOnSignals(service);
      return -1; // keep running
    }
    return await admin(command, rest, args, config);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`tessera: ${error.message}\n`);
      return 2;
    }
    const message = configMessage(error);
    if (message !== null) {
      process.stderr.write(`tessera: ${message}\n`);
      return 2;
    }
    process.stderr.write(`tessera: ${isTesseraError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

async function admin(command: string, rest: string[], args: Parsed, config: ServiceConfig): Promise<number> {
  const [verb, target, ...extra] = rest;
  const usage = () => new UsageError(`unknown or incomplete command\n\n${HELP[command]}`);
  const needsTarget = !((command === 'users' && verb === 'list') || command === 'keys');
  if (verb === undefined || (needsTarget && target === undefined) || extra.length > 0 || (!needsTarget && target !== undefined)) throw usage();
  const json = args.flags.has('json');
  const out = (line: string) => process.stdout.write(`${line}\n`);

  const store = await openStore(config.store);
  const engine = await Engine.create({ store, issuer: config.issuer, audience: config.audience, policy: config.policy }).catch(async (error: unknown) => {
    await store.close().catch(() => undefined);
    throw error;
  });
  const users = new UserDirectory({ store, clock: engine.clock });
  const userIdOf = async (user: string) => (await users.find(user))?.id ?? user;
  try {
    switch (`${command} ${verb}`) {
      case 'users add': {
        let password: string;
        let generated = false;
        if (args.flags.has('password-stdin')) {
          password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
          checkNewPassword(password);
        } else {
          password = randomPassword();
          generated = true;
        }
        const user = await users.create(target!, password);
        out(`created user ${user.username} (id ${user.id})`);
        if (generated) out(`password: ${password}   (shown once)`);
        return 0;
      }
      case 'users list': {
        const list = await users.list();
        if (json) out(JSON.stringify(list.map(({ id, username, createdAt, updatedAt }) => ({ id, username, createdAt, updatedAt }))));
        else if (list.length === 0) out('no users');
        else for (const u of list) out(`${u.username.padEnd(24)} ${u.id}  created ${iso(u.createdAt)}`);
        return 0;
      }
      case 'users remove': {
        const user = await users.find(target!);
        if (!user) {
          process.stderr.write(`tessera: no user ${JSON.stringify(target)}\n`);
          return 1;
        }
        const revoked = await engine.revokeUser(user.id, { reason: 'admin' });
        await users.remove(user.id);
        out(`removed user ${user.username}; revoked ${revoked} session(s)`);
        return 0;
      }
      case 'sessions list': {
        const sessions = await engine.listSessions(await userIdOf(target!));
        if (json) out(JSON.stringify(sessions.map(view)));
        else if (sessions.length === 0) out('no live sessions');
        else for (const s of sessions) out(`${s.sid}  ${s.device.kind.padEnd(8)} ${s.device.name.padEnd(24)} ${s.ip ?? '-'}  last seen ${iso(s.lastSeenAt)}`);
        return 0;
      }
      case 'sessions revoke': {
        const session = await engine.getSession(target!);
        if (!session) {
          process.stderr.write(`tessera: no session ${JSON.stringify(target)}\n`);
          return 1;
        }
        const changed = await engine.revoke(session.sid, 'admin');
        out(changed ? `revoked ${session.sid}` : `${session.sid} was already revoked`);
        return 0;
      }
      case 'sessions revoke-user': {
        const revoked = await engine.revokeUser(await userIdOf(target!), { reason: 'admin' });
        out(`revoked ${revoked} session(s)`);
        return 0;
      }
      case 'keys list': {
        // The facts of GET /v1/admin/keys (and of the dashboard's keys panel), oldest first.
        const now = engine.clock.now();
        const keys = engine.keys
          .list()
          .map(({ kid, createdAt, activatesAt, retiresAt, expiresAt }) => ({ kid, createdAt, activatesAt, retiresAt, expiresAt }))
          .sort((a, b) => a.activatesAt - b.activatesAt || (a.kid < b.kid ? 1 : -1));
        if (json) out(JSON.stringify(keys));
        else {
          const signing = signingKid(keys, now);
          for (const k of keys) {
            const state =
              k.kid === signing
                ? 'signing'
                : k.expiresAt !== null && k.expiresAt <= now
                  ? 'expired (left JWKS)'
                  : (k.retiresAt === null || now < k.retiresAt) && k.activatesAt > now
                    ? 'published (not signing yet)'
                    : 'retired (verifies only)';
            out(
              `${k.kid}  ${state.padEnd(28)} published ${iso(k.createdAt)}  signs from ${iso(k.activatesAt)}` +
                `  retires ${k.retiresAt === null ? '-' : iso(k.retiresAt)}  leaves JWKS ${k.expiresAt === null ? '-' : iso(k.expiresAt)}`,
            );
          }
        }
        return 0;
      }
      case 'keys rotate': {
        const kid = await engine.rotateKeys({ immediately: args.flags.has('now') });
        out(`published key ${kid}; ${args.flags.has('now') ? 'it signs now' : 'it signs in 10 minutes (after verifiers have fetched it)'}`);
        return 0;
      }
      default:
        throw usage();
    }
  } finally {
    await engine.close();
  }
}

/** The key that signs at `now`, by the engine's rule (KeyRing.signingKey): the newest active one not retired. */
function signingKid(keys: { kid: string; activatesAt: number; retiresAt: number | null }[], now: number): string | undefined {
  return [...keys]
    .sort((a, b) => b.activatesAt - a.activatesAt || (a.kid < b.kid ? -1 : 1))
    .find((k) => k.activatesAt <= now && (k.retiresAt === null || now < k.retiresAt))?.kid;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function view(s: SessionRecord) {
  return { sid: s.sid, userId: s.userId, device: s.device, ip: s.ip, userAgent: s.userAgent, createdAt: s.createdAt, lastSeenAt: s.lastSeenAt };
}

// Run when executed (node dist/cli.js, the `tessera` bin), not when imported by tests.
const invokedAs = process.argv[1] ?? '';
if (/(^|[\\/])(cli\.(js|ts)|tessera)$/.test(invokedAs)) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (error: unknown) => {
      process.stderr.write(`tessera: ${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
