/**
 * Our access tokens verify with a JWT library that is not ours and not JavaScript: PyJWT (Debian's
 * python3-jwt, with python3-cryptography for Ed25519), fetching keys from /.well-known/jwks.json the
 * way a Python backend would. The system interpreter is used on purpose (/usr/bin/python3), not
 * whatever `python3` is first on the PATH, because that is where the Debian packages live.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '@tessera/core';
import { login, startTestServer, type TestServer } from './testing/helpers.js';

const PYTHON = '/usr/bin/python3';

function pyjwtAvailable(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import jwt, cryptography'], { stdio: 'ignore' });
  if (probe.status === 0) return true;
  const message = 'PyJWT is not installed (apt-get install -y python3-jwt python3-cryptography)';
  if (process.env.CI === 'true') throw new Error(`${message}, and CI=true: this test must run on CI`);
  console.warn(`\n${'!'.repeat(78)}\n!! ${message}: SKIPPING the PyJWT interoperability test.\n${'!'.repeat(78)}\n`);
  return false;
}

const VERIFY = `
import json, sys
import jwt
from jwt import PyJWKClient

jwks_url, token, issuer, audience = sys.argv[1:5]
client = PyJWKClient(jwks_url)
out = {"version": jwt.__version__}
try:
    key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["EdDSA"], audience=audience, issuer=issuer,
                        options={"require": ["exp", "iat", "sub", "sid", "jti", "iss", "aud"]})
    out["ok"] = True
    out["claims"] = claims
    out["header"] = jwt.get_unverified_header(token)
except Exception as error:
    out["ok"] = False
    out["error"] = type(error).__name__
print(json.dumps(out))
`;

/** Asynchronous on purpose: the server answering PyJWT's JWKS request runs in this process. */
async function verifyWithPyJwt(jwksUrl: string, token: string, issuer: string, audience: string): Promise<any> {
  const { stdout } = await promisify(execFile)(PYTHON, ['-c', VERIFY, jwksUrl, token, issuer, audience], { encoding: 'utf8', timeout: 20_000 });
  return JSON.parse(stdout);
}

describe.skipIf(!pyjwtAvailable())('PyJWT verifies our access tokens against /.well-known/jwks.json', () => {
  let server: TestServer;
  let base: string;
  beforeAll(async () => {
    server = await startTestServer(new MemoryStore());
    await server.user('alice');
    base = await server.listen();
  });
  afterAll(async () => {
    await server?.app.close();
  });

  it('accepts a fresh token (EdDSA, at+jwt, iss, aud, sub, sid, jti) and rejects tampered or misdirected ones', async () => {
    // The test server's clock is a manual one started at the real time: PyJWT checks exp/iat against real time.
    const session = await login(server, 'alice');
    const jwks = `${base}/.well-known/jwks.json`;
    const ok = await verifyWithPyJwt(jwks, session.accessToken, 'https://tessera.test', 'tessera-tests');
    expect(ok).toMatchObject({ ok: true, header: { alg: 'EdDSA', typ: 'at+jwt' }, claims: { sid: session.sid, iss: 'https://tessera.test', aud: 'tessera-tests' } });
    expect(ok.claims.sub).toMatch(/^usr_/);

    const [h, p, sig] = session.accessToken.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'mallory' })).toString('base64url')}.${sig}`;
    expect(await verifyWithPyJwt(jwks, forged, 'https://tessera.test', 'tessera-tests')).toMatchObject({ ok: false, error: 'InvalidSignatureError' });
    expect(await verifyWithPyJwt(jwks, session.accessToken, 'https://tessera.test', 'another-api')).toMatchObject({ ok: false, error: 'InvalidAudienceError' });
    expect(await verifyWithPyJwt(jwks, session.accessToken, 'https://evil.test', 'tessera-tests')).toMatchObject({ ok: false, error: 'InvalidIssuerError' });
  }, 60_000);

  it('still verifies after a key rotation (the new key is in JWKS, the old one stays until its tokens expire)', async () => {
    const before = await login(server, 'alice');
    await server.app.tessera.engine.rotateKeys({ immediately: true });
    const after = await login(server, 'alice');
    const kid = (t: string) => JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid;
    expect(kid(after.accessToken)).not.toBe(kid(before.accessToken));
    const jwks = `${base}/.well-known/jwks.json`;
    for (const token of [before.accessToken, after.accessToken]) {
      expect(await verifyWithPyJwt(jwks, token, 'https://tessera.test', 'tessera-tests')).toMatchObject({ ok: true });
    }
  }, 60_000);
});
