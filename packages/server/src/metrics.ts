/**
 * Prometheus metrics (prom-client), one registry per service instance so that several instances in
 * one process (tests, embedding) never collide on metric names.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SessionEvent, SessionStore } from '@tessera/core';

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly sessionsCreated: Counter;
  readonly sessionsRefreshed: Counter;
  readonly sessionsRevoked: Counter<'reason'>;
  readonly reuseDetected: Counter;
  readonly loginFailures: Counter<'reason'>;
  readonly verifications: Counter<'outcome'>;
  readonly storeLatency: Histogram<'operation' | 'outcome'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(options: { feedSilenceMs: () => number; processMetrics: boolean }) {
    const registers = [this.registry];
    this.sessionsCreated = new Counter({ name: 'tessera_sessions_created_total', help: 'Sessions created on this node', registers });
    this.sessionsRefreshed = new Counter({ name: 'tessera_sessions_refreshed_total', help: 'Refresh-token rotations on this node', registers });
    this.sessionsRevoked = new Counter({
      name: 'tessera_sessions_revoked_total',
      help: 'Sessions revoked by this node, by reason (logout, evicted, revoked, admin, reuse_detected, password_changed, expired)',
      labelNames: ['reason'],
      registers,
    });
    this.reuseDetected = new Counter({ name: 'tessera_refresh_reuse_detected_total', help: 'Superseded refresh tokens presented again (the session was revoked)', registers });
    this.loginFailures = new Counter({ name: 'tessera_login_failures_total', help: 'Failed sign-ins, by reason', labelNames: ['reason'], registers });
    this.verifications = new Counter({
      name: 'tessera_access_token_verifications_total',
      help: 'Access-token verifications by the service, by outcome (ok or the error code)',
      labelNames: ['outcome'],
      registers,
    });
    this.storeLatency = new Histogram({
      name: 'tessera_store_operation_duration_seconds',
      help: 'Latency of session-store operations',
      labelNames: ['operation', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'tessera_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    new Gauge({
      name: 'tessera_revocation_feed_silence_seconds',
      help: 'Seconds since the revocation feed was last heard from (past the stale bound, verification falls back to the store)',
      registers,
      collect() {
        const silence = options.feedSilenceMs();
        this.set(Number.isFinite(silence) ? silence / 1000 : -1);
      },
    });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'tessera_' });
  }

  /** Counts the engine's events (this node's own operations). */
  observe(event: SessionEvent): void {
    switch (event.type) {
      case 'session.created':
        this.sessionsCreated.inc();
        break;
      case 'session.refreshed':
        this.sessionsRefreshed.inc();
        break;
      case 'session.reuse_detected':
        this.reuseDetected.inc();
        this.sessionsRevoked.inc({ reason: 'reuse_detected' });
        break;
      case 'session.revoked':
      case 'session.evicted':
        this.sessionsRevoked.inc({ reason: event.reason ?? 'revoked' });
        break;
      case 'login.failed':
        this.loginFailures.inc({ reason: event.reason ?? 'invalid_credentials' });
        break;
    }
  }

  /**
   * The store with every method timed. Methods are called on the real store (not the proxy), so
   * stores with private fields keep working.
   */
  instrument(store: SessionStore): SessionStore {
    const histogram = this.storeLatency;
    const timed = new Map<PropertyKey, unknown>();
    return new Proxy(store, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function' || property === 'constructor') return value;
        let wrapper = timed.get(property);
        if (!wrapper) {
          const operation = String(property);
          wrapper = (...args: unknown[]) => {
            const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
            if (!(result instanceof Promise)) return result;
            const end = histogram.startTimer({ operation });
            return result.then(
              (v) => (end({ outcome: 'ok' }), v),
              (e: unknown) => {
                end({ outcome: 'error' });
                throw e;
              },
            );
          };
          timed.set(property, wrapper);
        }
        return wrapper;
      },
    });
  }
}
