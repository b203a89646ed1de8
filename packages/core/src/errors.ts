/**
 * Every failure Tessera reports carries a stable `code`: the engine throws it, the HTTP API returns
 * it in `{"error": {"code": ...}}`, and callers branch on it, never on message text.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_token: 401,
  token_expired: 401,
  invalid_refresh_token: 401,
  session_revoked: 401,
  session_expired: 401,
  invalid_credentials: 401,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  session_limit_reached: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  store_unavailable: 503,
  invalid_config: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class TesseraError extends Error {
  override readonly name = 'TesseraError';
  readonly code: ErrorCode;
  /** The HTTP status the contract gives this code. */
  readonly status: number;
  /** Seconds a client should wait before retrying (only with `rate_limited`). */
  readonly retryAfter?: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfter?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_STATUS[code];
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

export function isTesseraError(value: unknown, code?: ErrorCode): value is TesseraError {
  return value instanceof TesseraError && (code === undefined || value.code === code);
}

/** Wraps a backend failure (connection refused, timeout, ...) as `store_unavailable`, keeping the cause. */
export function storeUnavailable(cause: unknown, what = 'the session store'): TesseraError {
  if (cause instanceof TesseraError) return cause;
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new TesseraError('store_unavailable', `${what} is unavailable${detail}`, { cause });
}
