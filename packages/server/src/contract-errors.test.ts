import { describe, expect, it } from 'vitest';
import { TesseraError } from '@tessera/core';
import { toContractError } from './contract-errors.js';

describe('toContractError', () => {
  it('keeps the engine’s codes, statuses and Retry-After', () => {
    expect(toContractError(new TesseraError('session_revoked', 'gone'))).toEqual({ status: 401, code: 'session_revoked', message: 'gone' });
    expect(toContractError(new TesseraError('rate_limited', 'slow down', { retryAfter: 7 }))).toEqual({ status: 429, code: 'rate_limited', message: 'slow down', retryAfter: 7 });
  });

  it('an unexpected failure is 500 internal_error with a fixed message (no internals leak)', () => {
    expect(toContractError(new Error('ECONNREFUSED 10.0.0.7:6379 password=hunter2'))).toEqual({ status: 500, code: 'internal_error', message: 'internal error' });
    expect(toContractError('a string')).toEqual({ status: 500, code: 'internal_error', message: 'internal error' });
    expect(toContractError(new TesseraError('invalid_config', 'issuer is required'))).toEqual({ status: 500, code: 'internal_error', message: 'internal error' });
  });

  it('maps what Fastify raises to contract codes', () => {
    const fastify = (code: string, statusCode: number) => Object.assign(new Error(code), { code, statusCode });
    expect(toContractError(fastify('FST_ERR_CTP_BODY_TOO_LARGE', 413)).code).toBe('payload_too_large');
    expect(toContractError(fastify('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415)).code).toBe('unsupported_media_type');
    expect(toContractError(fastify('FST_ERR_CTP_INVALID_JSON_BODY', 400)).code).toBe('invalid_request');
    expect(toContractError(fastify('FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400)).code).toBe('invalid_request');
    expect(toContractError(fastify('FST_ERR_SOMETHING_NEW', 400))).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(toContractError(fastify('FST_ERR_SOMETHING_NEW', 404))).toMatchObject({ status: 404, code: 'not_found' });
    expect(toContractError(Object.assign(new Error('body/x must be string'), { validation: [{}], statusCode: 400 }))).toEqual({
      status: 400,
      code: 'invalid_request',
      message: 'body/x must be string',
    });
  });
});
