/**
 * Failures carry a stable `code`: the service's `error.code` (`invalid_credentials`,
 * `rate_limited`, `session_revoked`, ...) when it answered, or `network_error` when it could not
 * be reached. Branch on the code, never on the message.
 */
export class TesseraClientError extends Error {
  override readonly name = 'TesseraClientError';
  constructor(
    readonly code: string,
    message: string,
    /** HTTP status; 0 when there was no response. */
    readonly status: number,
    /** Seconds, from `Retry-After` (with `rate_limited`). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}
