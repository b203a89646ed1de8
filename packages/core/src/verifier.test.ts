/**
 * The verifier against the known attacks on JWTs (RFC 8725 §2) and the edges of its claim checks.
 * Every token here is built by hand so that each case differs from a valid token in one way only.
 */
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { expectCode } from './conformance/index.js';
import { Engine } from './engine.js';
import { MemoryStore } from './memory-store.js';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function forge(header: object, payload: object, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

describe('verifier', () => {
  let engine: Engine;
  let clock: ManualClock;
  let kid: string;
  let key: KeyObject;
  let sid: string;
  let nowS: number;
  const LEEWAY = 30_000;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2031, 5, 1, 12, 0, 0));
    engine = await Engine.create({ store: new MemoryStore(), issuer: 'https://issuer.test', audience: 'api', clock, policy: { leeway: '30s' } });
    ({ kid, privateKey: key } = engine.keys.signingKey(clock.now()));
    sid = (await engine.createSession({ userId: 'user-1' })).session.sid;
    nowS = clock.now() / 1000;
  });
  afterEach(() => engine.close());

  const header = () => ({ alg: 'EdDSA', typ: 'at+jwt', kid });
  const claims = () => ({ iss: 'https://issuer.test', aud: 'api', sub: 'user-1', sid, jti: 'j1', iat: nowS, exp: nowS + 600 });

  it('accepts a well-formed token and returns its identity', async () => {
    await expect(engine.verify(forge(header(), claims(), key))).resolves.toMatchObject({ userId: 'user-1', sessionId: sid, tokenId: 'j1', expiresAt: (nowS + 600) * 1000 });
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('rejects alg %s, with or without a signature', async (alg) => {
    const unsigned = `${b64({ ...header(), alg })}.${b64(claims())}`;
    await expectCode(engine.verify(`${unsigned}.`), 'invalid_token');
    await expectCode(engine.verify(unsigned), 'invalid_token');
    await expectCode(engine.verify(`${unsigned}.${b64('sig')}`), 'invalid_token');
  });

  it('rejects HS256 signed with the public key (algorithm confusion)', async () => {
    const publicJwk = engine.jwks().keys[0]!;
    for (const secret of [Buffer.from(publicJwk.x, 'base64url'), Buffer.from(JSON.stringify(publicJwk)), Buffer.from(publicJwk.x)]) {
      const input = `${b64({ ...header(), alg: 'HS256' })}.${b64(claims())}`;
      const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      await expectCode(engine.verify(token), 'invalid_token');
    }
  });

  it('rejects other asymmetric algorithms and foreign keys', async () => {
    const { privateKey: ec } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const input = `${b64({ ...header(), alg: 'ES256' })}.${b64(claims())}`;
    await expectCode(engine.verify(`${input}.${sign('sha256', Buffer.from(input), { key: ec, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`), 'invalid_token');
    const { privateKey: stranger } = generateKeyPairSync('ed25519');
    await expectCode(engine.verify(forge(header(), claims(), stranger)), 'invalid_token');
  });

  it('rejects a missing, empty or unknown kid', async () => {
    const { kid: _kid, ...noKid } = header();
    await expectCode(engine.verify(forge(noKid, claims(), key)), 'invalid_token');
    await expectCode(engine.verify(forge({ ...header(), kid: '' }, claims(), key)), 'invalid_token');
    await expectCode(engine.verify(forge({ ...header(), kid: 'unknown' }, claims(), key)), 'invalid_token');
  });

  it('rejects a wrong or missing typ', async () => {
    await expectCode(engine.verify(forge({ ...header(), typ: 'JWT' }, claims(), key)), 'invalid_token');
    await expectCode(engine.verify(forge({ ...header(), typ: 'refresh+jwt' }, claims(), key)), 'invalid_token');
    const { typ: _typ, ...untyped } = header();
    await expectCode(engine.verify(forge(untyped, claims(), key)), 'invalid_token');
  });

  it('rejects a wrong iss or aud', async () => {
    await expectCode(engine.verify(forge(header(), { ...claims(), iss: 'https://evil.test' }, key)), 'invalid_token');
    await expectCode(engine.verify(forge(header(), { ...claims(), aud: 'other-api' }, key)), 'invalid_token');
    await expectCode(engine.verify(forge(header(), { ...claims(), aud: ['other-api'] }, key)), 'invalid_token');
    await expect(engine.verify(forge(header(), { ...claims(), aud: ['other-api', 'api'] }, key))).resolves.toBeTruthy();
  });

  it('accepts exp just inside the leeway and rejects it just outside as token_expired', async () => {
    const exp = nowS + 60;
    const token = forge(header(), { ...claims(), exp }, key);
    clock.set(exp * 1000 + LEEWAY - 1000);
    await expect(engine.verify(token)).resolves.toBeTruthy();
    clock.set(exp * 1000 + LEEWAY + 1000);
    await expectCode(engine.verify(token), 'token_expired');
    // The same answer for a token that was never cached.
    await expectCode(engine.verify(forge(header(), { ...claims(), exp, jti: 'other' }, key)), 'token_expired');
  });

  it('honours nbf with the leeway', async () => {
    await expect(engine.verify(forge(header(), { ...claims(), nbf: nowS + 29 }, key))).resolves.toBeTruthy();
    await expectCode(engine.verify(forge(header(), { ...claims(), nbf: nowS + 31 }, key)), 'invalid_token');
  });

  it('rejects a token issued in the future beyond the leeway', async () => {
    await expect(engine.verify(forge(header(), { ...claims(), iat: nowS + 29 }, key))).resolves.toBeTruthy();
    await expectCode(engine.verify(forge(header(), { ...claims(), iat: nowS + 31 }, key)), 'invalid_token');
  });

  it.each(['sub', 'sid', 'jti', 'iat', 'exp'])('rejects a token without %s', async (claim) => {
    const payload: Record<string, unknown> = claims();
    delete payload[claim];
    await expectCode(engine.verify(forge(header(), payload, key)), 'invalid_token');
  });

  it('rejects claims of the wrong type', async () => {
    await expectCode(engine.verify(forge(header(), { ...claims(), sub: 42 }, key)), 'invalid_token');
    await expectCode(engine.verify(forge(header(), { ...claims(), sid: '' }, key)), 'invalid_token');
    await expectCode(engine.verify(forge(header(), { ...claims(), exp: String(nowS + 600) }, key)), 'invalid_token');
  });

  it('rejects malformed compact serialisations before any cryptography', async () => {
    const good = forge(header(), claims(), key);
    const [h, p, s] = good.split('.') as [string, string, string];
    const bad: unknown[] = [
      `${h}.${p}`,
      `${h}.${p}.${s}.${s}`,
      `${h}..${s}`,
      `.${p}.${s}`,
      `${h}.${p}.${s}=`,
      `${h}=.${p}.${s}`,
      ` ${good}`,
      `${good}\n`,
      `${h}.${p} .${s}`,
      `${h}.${p}.${s.slice(0, -2)}+/`,
      good.replace(/\./g, '..'),
      `Bearer ${good}`,
      '',
      'not a token',
      null,
      undefined,
      123,
      { token: good },
      [good],
    ];
    for (const token of bad) await expectCode(engine.verify(token), 'invalid_token');
  });

  it('rejects a tampered payload or signature', async () => {
    const good = forge(header(), claims(), key);
    const [h, p, s] = good.split('.') as [string, string, string];
    await expectCode(engine.verify(`${h}.${b64({ ...claims(), sub: 'admin' })}.${s}`), 'invalid_token');
    await expectCode(engine.verify(`${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`), 'invalid_token');
    await expectCode(engine.verify(`${b64({ ...header(), kid: kid + 'x' })}.${p}.${s}`), 'invalid_token');
  });

  it('remembers a verified token as that token only: one with its signature and another payload is still refused', async () => {
    const good = forge(header(), claims(), key);
    await engine.verify(good);
    const [h, , s] = good.split('.') as [string, string, string];
    await expectCode(engine.verify(`${h}.${b64({ ...claims(), sub: 'admin' })}.${s}`), 'invalid_token');
    await expect(engine.verify(good)).resolves.toMatchObject({ userId: 'user-1' });
  });

  it('rejects a 1 MB token by its length alone', async () => {
    const huge = `${b64(header())}.${'A'.repeat(1024 * 1024)}.${'A'.repeat(86)}`;
    await expectCode(engine.verify(huge), 'invalid_token');
    await expectCode(engine.verify(`${'A'.repeat(8193)}.A.A`), 'invalid_token');
  });

  it('remembers verified tokens, but still rejects them once revoked or expired', async () => {
    const issued = await engine.createSession({ userId: 'user-2' });
    await engine.verify(issued.accessToken);
    await engine.verify(issued.accessToken);
    await engine.revoke(issued.session.sid);
    await expectCode(engine.verify(issued.accessToken), 'session_revoked');

    const other = await engine.createSession({ userId: 'user-3' });
    await engine.verify(other.accessToken);
    clock.advance(10 * 60_000 + LEEWAY);
    await expectCode(engine.verify(other.accessToken), 'token_expired');
  });

  it('checks the signature of a token once, however many calls present it at the same time', async () => {
    const issued = await engine.createSession({ userId: 'user-5' });
    const publicKey = engine.keys.publicKey.bind(engine.keys);
    let lookups = 0;
    engine.keys.publicKey = (...args) => {
      lookups++;
      return publicKey(...args);
    };
    const all = await Promise.all(Array.from({ length: 20 }, () => engine.verify(issued.accessToken)));
    expect(lookups).toBe(1);
    expect(new Set(all.map((v) => v.sessionId))).toEqual(new Set([issued.session.sid]));
    // A bad token: every caller gets the failure, and nothing is remembered.
    const forged = forge(header(), { ...claims(), sub: 'mallory' }, generateKeyPairSync('ed25519').privateKey);
    await Promise.all(Array.from({ length: 5 }, () => expectCode(engine.verify(forged), 'invalid_token')));
    await expectCode(engine.verify(forged), 'invalid_token');
    // The revocation set is still checked per call, after the shared signature check.
    const other = await engine.createSession({ userId: 'user-6' });
    const waiting = Promise.all(Array.from({ length: 5 }, () => engine.verify(other.accessToken)));
    engine.verifier.markRevoked([{ sid: other.session.sid, at: clock.now() }]); // while they wait for the signature
    await expectCode(waiting, 'session_revoked');
  });

  it('keeps verifying tokens of a rotated-out key until they expire, and signs with the new one', async () => {
    const before = await engine.createSession({ userId: 'user-4' });
    const newKid = await engine.rotateKeys();
    expect(engine.jwks().keys.map((k) => k.kid)).toEqual(expect.arrayContaining([kid, newKid]));
    // Published, but not yet signing: the publish lead.
    expect(engine.keys.signingKey(clock.now()).kid).toBe(kid);
    clock.advance(10 * 60_000);
    const after = await engine.createSession({ userId: 'user-4' });
    expect(JSON.parse(Buffer.from(after.accessToken.split('.')[0]!, 'base64url').toString()).kid).toBe(newKid);
    await expect(engine.verify(before.accessToken)).resolves.toBeTruthy();
    // Once every token of the old key has expired, it leaves the JWKS.
    clock.advance(10 * 60_000 + LEEWAY);
    await engine.syncKeys();
    expect(engine.jwks().keys.map((k) => k.kid)).toEqual([newKid]);
  });
});
