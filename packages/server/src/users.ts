/**
 * Built-in users: usernames and scrypt password hashes kept in the session store, for deployments
 * that let Tessera check passwords (the demo, small services). Applications that authenticate users
 * themselves use the admin API instead and never store a password here.
 */
import { randomBytes } from 'node:crypto';
import { TesseraError, type Clock, type SessionStore, type UserRecord } from '@tessera/core';
import { hashPassword, needsRehash, OWASP_SCRYPT, verifyPassword, type ScryptParams } from './password-hash.js';

/** OWASP ASVS 2.1.1 (at least 12 characters) and 2.1.2 (at least 64 allowed, at most 128). */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;
export const USERNAME_MAX_LENGTH = 128;

/**
 * Usernames are compared after NFKC normalisation and lower-casing, so that `Alice`, `ALICE` and
 * `Ａｌｉｃｅ` (full-width) are one account (RFC 8265 §3.3 UsernameCaseMapped, simplified).
 */
export function normaliseUsername(raw: string): string {
  return raw.normalize('NFKC').toLowerCase();
}

/** A normalised username, or an `invalid_request` naming what is wrong. */
export function checkUsername(raw: unknown): string {
  if (typeof raw !== 'string') throw new TesseraError('invalid_request', 'username must be a string');
  const username = normaliseUsername(raw);
  if (username.length === 0 || username.length > USERNAME_MAX_LENGTH) {
    throw new TesseraError('invalid_request', `username must be 1 to ${USERNAME_MAX_LENGTH} characters`);
  }
  // No whitespace, control or format characters: they make look-alike accounts and break logs.
  if (/[\s\p{C}]/u.test(username)) throw new TesseraError('invalid_request', 'username must not contain spaces or control characters');
  return username;
}

export function checkNewPassword(password: unknown): string {
  if (typeof password !== 'string') throw new TesseraError('invalid_request', 'password must be a string');
  const length = [...password.normalize('NFKC')].length;
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    throw new TesseraError('invalid_request', `password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`);
  }
  return password;
}

/** A random password for the demo user and `tessera users add` without `--password`: 128 bits. */
export function randomPassword(): string {
  return randomBytes(16).toString('base64url');
}

export interface UserDirectoryOptions {
  store: SessionStore;
  clock: Clock;
  /** Defaults to OWASP's (N=2^17, r=8, p=1). Tests may lower it to run faster; production never does. */
  hashParams?: ScryptParams;
}

export class UserDirectory {
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #params: ScryptParams;
  #dummy: Promise<string> | undefined;

  constructor(options: UserDirectoryOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#params = options.hashParams ?? OWASP_SCRYPT;
  }

  /**
   * A hash of a random password with the current parameters, verified against when the username is
   * unknown, so that "no such user" costs the same scrypt as "wrong password" (OWASP Authentication
   * Cheat Sheet: authentication responses must not reveal which part was wrong, in body or timing).
   */
  prepare(): Promise<string> {
    this.#dummy ??= hashPassword(randomPassword(), this.#params);
    return this.#dummy;
  }

  async create(rawUsername: string, password: string): Promise<UserRecord> {
    const username = checkUsername(rawUsername);
    checkNewPassword(password);
    const now = this.#clock.now();
    const user: UserRecord = {
      id: `usr_${randomBytes(16).toString('base64url')}`,
      username,
      passwordHash: await hashPassword(password, this.#params),
      createdAt: now,
      updatedAt: now,
    };
    await this.#store.createUser(user);
    return user;
  }

  /** The user if the password is right; `null` for an unknown user or a wrong password, in equal time. */
  async authenticate(rawUsername: string, password: string): Promise<UserRecord | null> {
    let username: string | null;
    try {
      username = checkUsername(rawUsername);
    } catch {
      username = null;
    }
    const user = username === null ? null : await this.#store.getUserByUsername(username);
    const ok = await verifyPassword(password, user?.passwordHash ?? (await this.prepare()));
    if (!user || !ok) return null;
    if (needsRehash(user.passwordHash, this.#params)) {
      // Upgrade old parameters while we hold the plaintext; a failure here must not fail the login.
      await this.setPassword(user.id, password).catch(() => undefined);
    }
    return user;
  }

  /** Whether `password` is the password of `user` (constant-time comparison of the derived keys). */
  checkPassword(user: UserRecord, password: string): Promise<boolean> {
    return verifyPassword(password, user.passwordHash);
  }

  async setPassword(id: string, password: string): Promise<boolean> {
    checkNewPassword(password);
    return this.#store.setPasswordHash(id, await hashPassword(password, this.#params), this.#clock.now());
  }

  /**
   * A user by username (normalised here) first, else by id: the lookup of the CLI's `users remove`,
   * `sessions list|revoke-user` and of `GET /v1/admin/users/:usernameOrId`. A text that cannot be a
   * username is only looked up as an id; store failures are not "no such user", they propagate.
   */
  async find(usernameOrId: string): Promise<UserRecord | null> {
    let username: string | null;
    try {
      username = checkUsername(usernameOrId);
    } catch {
      username = null;
    }
    const byName = username === null ? null : await this.#store.getUserByUsername(username);
    return byName ?? (await this.#store.getUser(usernameOrId));
  }

  list(): Promise<UserRecord[]> {
    return this.#store.listUsers();
  }

  remove(id: string): Promise<boolean> {
    return this.#store.deleteUser(id);
  }
}
