/**
 * GET /healthz, /readyz, /metrics, /.well-known/jwks.json, /openapi.json.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { TesseraError, storeUnavailable } from '@tessera/core';
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

export function operationRoutes(service: Service, state: { closing: boolean }) {
  return async function register(app: FastifyInstance): Promise<void> {
    const resolution = 20;
    const delay = monitorEventLoopDelay({ resolution });
    delay.enable();
    // Percentiles over a rolling minute, not since start: a liveness probe wants "now".
    const reset = setInterval(() => delay.reset(), 60_000);
    reset.unref();
    app.addHook('onClose', async () => {
      clearInterval(reset);
      delay.disable();
    });
    // The histogram records whole timer intervals (resolution included): the delay is what exceeds it.
    const toMs = (ns: number) => (Number.isFinite(ns) ? Math.max(0, Math.round((ns / 1e6 - resolution) * 100) / 100) : 0);

    app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness: event-loop delay and memory', response: { 200: healthResponse } } }, async () => {
      const memory = process.memoryUsage();
      return {
        status: 'ok',
        uptimeSeconds: Math.round(process.uptime()),
        eventLoopDelayMs: { p50: toMs(delay.percentile(50)), p99: toMs(delay.percentile(99)), max: toMs(delay.max) },
        memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external },
        sockets: service.hub.socketCount,
        streams: service.hub.streamCount,
      };
    });

    app.get(
      '/readyz',
      { schema: { tags: ['operations'], summary: 'Readiness: the store answers (503 otherwise, or while shutting down)', response: { 200: readyResponse, ...errorResponses } } },
      async () => {
        if (state.closing) throw new TesseraError('store_unavailable', 'the service is shutting down');
        await pingWithin(service, PING_TIMEOUT);
        const silence = service.engine.verifier.feedSilence;
        return {
          status: 'ready',
          store: service.engine.store.kind,
          feed: { healthy: service.engine.verifier.feedHealthy, silenceMs: Number.isFinite(silence) ? Math.round(silence) : null },
        };
      },
    );

    app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics (text exposition format)', produces: ['text/plain'] } }, async (_request, reply) => {
      reply.type(service.metrics.registry.contentType);
      return service.metrics.registry.metrics();
    });

    app.get(
      '/.well-known/jwks.json',
      { schema: { tags: ['verifiers'], summary: 'Public keys (Ed25519, `alg: EdDSA`) that verify access tokens: the current and still-valid previous ones', response: { 200: jwksResponse } } },
      async (_request, reply) => {
        // A new key is published ten minutes before it signs, so five minutes of caching is safe.
        reply.header('Cache-Control', 'public, max-age=300');
        return service.engine.jwks();
      },
    );

    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
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
