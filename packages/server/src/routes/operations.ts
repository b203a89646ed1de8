/**
 * GET /.well-known/jwks.json, and the operations endpoints /healthz, /readyz, /metrics, /openapi.json.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { TesseraError, storeUnavailable } from '@tessera/core';
import { route, type Route } from '../http/route.js';
import { errorResponses, jwksResponse } from '../schemas.js';
import type { Service } from '../service.js';

const PING_TIMEOUT = 2000;

const healthResponse = {
  type: 'object',
  required: ['status', 'uptimeSeconds', 'eventLoopDelayMs', 'memory'],
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['ok'] },
    uptimeSeconds: { type: 'number' },
    eventLoopDelayMs: {
      type: 'object',
      additionalProperties: false,
      description: 'over the last minute',
      properties: { p50: { type: 'number' }, p99: { type: 'number' }, max: { type: 'number' } },
    },
    memory: {
      type: 'object',
      additionalProperties: false,
      description: 'bytes',
      properties: { rss: { type: 'integer' }, heapUsed: { type: 'integer' }, heapTotal: { type: 'integer' }, external: { type: 'integer' } },
    },
    sockets: { type: 'integer', description: 'open /v1/events sockets' },
    streams: { type: 'integer', description: 'open revocation streams' },
  },
} as const;

const readyResponse = {
  type: 'object',
  required: ['status', 'store'],
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['ready'] },
    store: { type: 'string' },
    feed: {
      type: 'object',
      additionalProperties: false,
      properties: { healthy: { type: 'boolean' }, silenceMs: { type: ['number', 'null'] } },
    },
  },
} as const;

export function jwksRoutes(service: Service): Route[] {
  const jwks = route({
    method: 'GET',
    url: '/.well-known/jwks.json',
    schema: {
      tags: ['verifiers'],
      summary: 'Public keys (Ed25519, `alg: EdDSA`) that verify access tokens: the current and still-valid previous ones',
      response: { 200: jwksResponse },
    },
    handler(_request, reply) {
      // A new key is published ten minutes before it signs, so five minutes of caching is safe.
      reply.header('Cache-Control', 'public, max-age=300');
      return service.engine.jwks();
    },
  });
  return [jwks];
}

export interface Operations {
  routes: Route[];
  close(): void;
}

/**
 * `openapi` returns the document (the routes of this API are not all known when these are built).
 * `state.closing` is the API's: a closing service is not ready.
 */
export function operationRoutes(service: Service, state: { closing: boolean }, openapi: () => unknown): Operations {
  const resolution = 20;
  const delay = monitorEventLoopDelay({ resolution });
  delay.enable();
  // Percentiles over a rolling minute, not since start: a liveness probe wants "now".
  const reset = setInterval(() => delay.reset(), 60_000);
  reset.unref();
  // The histogram records whole timer intervals (resolution included): the delay is what exceeds it.
  const toMs = (ns: number) => (Number.isFinite(ns) ? Math.max(0, Math.round((ns / 1e6 - resolution) * 100) / 100) : 0);

  const health = route({
    method: 'GET',
    url: '/healthz',
    schema: { tags: ['operations'], summary: 'Liveness: event-loop delay and memory', response: { 200: healthResponse } },
    handler() {
      const memory = process.memoryUsage();
      return {
        status: 'ok',
        uptimeSeconds: Math.round(process.uptime()),
        eventLoopDelayMs: { p50: toMs(delay.percentile(50)), p99: toMs(delay.percentile(99)), max: toMs(delay.max) },
        memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external },
        sockets: service.hub.socketCount,
        streams: service.hub.streamCount,
      };
    },
  });

  const ready = route({
    method: 'GET',
    url: '/readyz',
    schema: { tags: ['operations'], summary: 'Readiness: the store answers (503 otherwise, or while shutting down)', response: { 200: readyResponse, ...errorResponses } },
    async handler() {
      if (state.closing) throw new TesseraError('store_unavailable', 'the service is shutting down');
      await pingWithin(service, PING_TIMEOUT);
      const silence = service.engine.verifier.feedSilence;
      return {
        status: 'ready',
        store: service.engine.store.kind,
        feed: { healthy: service.engine.verifier.feedHealthy, silenceMs: Number.isFinite(silence) ? Math.round(silence) : null },
      };
    },
  });

  const metrics = route({
    method: 'GET',
    url: '/metrics',
    schema: { tags: ['operations'], summary: 'Prometheus metrics (text exposition format)', produces: ['text/plain'] },
    async handler(_request, reply) {
      reply.type(service.metrics.registry.contentType);
      return service.metrics.registry.metrics();
    },
  });

  const document = route({
    method: 'GET',
    url: '/openapi.json',
    schema: { hide: true },
    handler: () => openapi(),
  });

  return {
    routes: [health, ready, metrics, document],
    close() {
      clearInterval(reset);
      delay.disable();
    },
  };
}

async function pingWithin(service: Service, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      service.engine.store.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TesseraError('store_unavailable', `the store did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } catch (error) {
    throw storeUnavailable(error);
  } finally {
    clearTimeout(timer);
  }
}
