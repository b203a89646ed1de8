/**
 * Request bodies: read with a size limit (before reading when Content-Length already says too much),
 * and parsed as the contract wants them (JSON only, `__proto__` and `constructor.prototype` refused).
 */
import type { Readable } from 'node:stream';
import secureJson from 'secure-json-parse';
import { TesseraError } from '@tessera/core';
import { headerValue, type RequestHeaders } from './types.js';

function tooLarge(): TesseraError {
  return new TesseraError('payload_too_large', 'the request body is too large');
}

function declaredTooLarge(headers: RequestHeaders, limit: number): boolean {
  const length = headerValue(headers, 'content-length');
  return length !== undefined && Number(length) > limit;
}

/** Reads a Node request stream (an `IncomingMessage`) to the end, at most `limit` bytes. */
export function readNodeBody(stream: Readable, headers: RequestHeaders, limit: number): Promise<Buffer> {
  if (declaredTooLarge(headers, limit)) {
    // Stop reading what we will not use; the response still goes out (the socket closes after it).
    stream.resume();
    return Promise.reject(tooLarge());
  }
  if (stream.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > limit) {
        cleanup();
        stream.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(buffer);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new TesseraError('invalid_request', 'the request body could not be read', { cause: error }));
    };
    const onAborted = () => onError(new Error('the client aborted the request'));
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('aborted', onAborted);
  });
}

/** Reads a Fetch API `Request` body (Hono, any runtime), at most `limit` bytes. */
export async function readWebBody(request: Request, limit: number): Promise<Buffer> {
  if (declaredTooLarge({ 'content-length': request.headers.get('content-length') ?? undefined }, limit)) throw tooLarge();
  if (!request.body) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/** The media type of a Content-Type header (no parameters, lower case), or undefined. */
export function mediaType(contentType: string | undefined): string | undefined {
  if (typeof contentType !== 'string') return undefined;
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * A JSON body: `null` for an empty one (a cookie refresh or logout has nothing to say), the parsed
 * value otherwise. Invalid JSON, or keys that could poison prototypes, are `invalid_request`.
 */
export function parseJsonBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text === '') return null;
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw new TesseraError('invalid_request', 'the request body is not valid JSON');
  }
}
