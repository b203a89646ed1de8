import { describe, expect, it } from 'vitest';
import { subjectOf } from './client.js';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('subjectOf', () => {
  it('reads `sub` from the payload, unpadded base64url, non-ASCII included', () => {
    expect(subjectOf(`${b64url({ alg: 'EdDSA' })}.${b64url({ sub: 'usr_Zoë-😀', sid: 'x' })}.sig`)).toBe('usr_Zoë-😀');
  });

  it('is null for anything that is not a JWT with a string `sub`', () => {
    expect(subjectOf('garbage')).toBeNull();
    expect(subjectOf(`a.${b64url({ sub: 42 })}.c`)).toBeNull();
    expect(subjectOf('a.!!!.c')).toBeNull();
  });
});
