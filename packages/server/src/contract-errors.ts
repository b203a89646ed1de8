/**
 * Every failure leaves the service as `status + {"error": {"code", "message"}}` with the engine's
 * stable codes (`TesseraError`), whatever raised it: the engine, a route, AJV (schema validation),
 * Fastify's body parser, or Node's HTTP parser. Bad input is a 4xx with a code, never a 500.
 */
import type { Socket } from 'node:net';
import { ERROR_STATUS, TesseraError, type ErrorCode } from '@tessera/core';

export interface ContractError {
  status: number;
  code: ErrorCode;
  message: string;
  retryAfter?: number;
}

interface FastifyishError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: unknown;
  validationContext?: string;
}

/** Maps a thrown value to the contract. Unknown failures are 500 `internal_error` with a fixed message. */
export function toContractError(error: unknown): ContractError {
  if (error instanceof TesseraError) {
    // A configuration error surfacing at request time is our bug, not the caller's.
    if (error.code === 'invalid_config') return { status: 500, code: 'internal_error', message: 'internal error' };
    return { status: error.status, code: error.code, message: error.message, ...(error.retryAfter ? { retryAfter: error.retryAfter } : {}) };
  }
  const e = (typeof error === 'object' && error !== null ? error : {}) as FastifyishError;
  if (e.validation) {
    // AJV's message names the offending field ("body must NOT have additional properties"), not its value.
    return contract('invalid_request', e.message ?? 'the request is not valid');
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return contract('payload_too_large', 'the request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return contract('unsupported_media_type', 'the request body must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return contract('invalid_request', 'the request body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return contract('invalid_request', 'the Content-Length header does not match the body');
  }
  if (error instanceof SyntaxError && e.statusCode === 400) return contract('invalid_request', 'the request body is not valid JSON');
  const status = e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Anything else Fastify rejects as the client's fault (prototype poisoning, bad URL encoding, ...).
    const code = STATUS_CODES.get(status) ?? 'invalid_request';
    return { status: ERROR_STATUS[code], code, message: code === 'invalid_request' ? 'the request is not valid' : defaultMessage(code) };
  }
  return { status: 500, code: 'internal_error', message: 'internal error' };
}

const STATUS_CODES = new Map<number, ErrorCode>([
  [401, 'unauthorized'],
  [403, 'forbidden'],
  [404, 'not_found'],
  [413, 'payload_too_large'],
  [415, 'unsupported_media_type'],
  [429, 'rate_limited'],
]);

function defaultMessage(code: ErrorCode): string {
  return code.replace(/_/g, ' ');
}

function contract(code: ErrorCode, message: string): ContractError {
  return { status: ERROR_STATUS[code], code, message };
}

export function errorBody(error: Pick<ContractError, 'code' | 'message'>): { error: { code: string; message: string } } {
  return { error: { code: error.code, message: error.message } };
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (oversized headers, garbage on the
 * wire): answered in the contract's shape on the raw socket. Oversized headers get 431 (RFC 6585 §5)
 * with code `invalid_request`, the nearest stable code (see the package README).
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let reason = 'Bad Request';
  let message = 'the request could not be parsed';
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    reason = 'Request Header Fields Too Large';
    message = 'the request headers are too large';
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    reason = 'Request Timeout';
    message = 'the request took too long to arrive';
  }
  const body = JSON.stringify(errorBody({ code: 'invalid_request', message }));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
