/**
 * In-process load: calls in flight at a fixed concurrency, counted per second. On a shared machine
 * absolute figures are noise; run contenders interleaved and compare ratios from the same run.
 */
import { sleep } from './stats.js';

/** Runs `n` calls with `concurrency` in flight at all times; returns calls per second. */
export async function rate(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
  return (n / (performance.now() - start)) * 1000;
}

export interface Measurement {
  opsPerSecond: number;
  /** Latency percentiles of one call, ms. */
  p50: number;
  p99: number;
  /** This process's CPU time per call (µs). */
  clientCpu: number;
  /** Calls completed while recording. */
  count: number;
}

export interface MeasureOptions {
  concurrency: number;
  /** Recording time, after the warm-up. */
  ms: number;
  /** How long to run before recording starts, ms (default: record from the first call). */
  warmupMs?: number;
}

/**
 * Runs `op` from `concurrency` workers for `ms` after a warm-up, recording every call's latency.
 * `op` gets its worker's index and returns `false` when it has no more work (the measurement then
 * ends early, and counts what was done).
 */
export async function measure(op: (worker: number) => Promise<boolean | void>, options: MeasureOptions): Promise<Measurement> {
  let recording = false;
  let stop = false;
  const latencies: number[] = [];
  // Operations that never leave the microtask queue (the memory store, SQLite) would starve the
  // timers that end the measurement, and signals: every few milliseconds all workers wait for one
  // turn of the event loop together (one waiting alone would not let it turn).
  let turn: Promise<void> | null = null;
  let nextTurn = performance.now() + 5;
  const eventLoopTurn = () =>
    (turn ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        turn = null;
        nextTurn = performance.now() + 5;
        resolve();
      }),
    ));
  const worker = async (n: number) => {
    while (!stop) {
      const start = performance.now();
      const more = await op(n);
      const end = performance.now();
      if (recording && !stop) latencies.push(end - start);
      if (more === false) return;
      if (end >= nextTurn) await eventLoopTurn();
    }
  };
  if (!options.warmupMs) recording = true;
  const done = Promise.all(Array.from({ length: options.concurrency }, (_, n) => worker(n)));
  if (options.warmupMs) await Promise.race([sleep(options.warmupMs), done]);
  recording = true;
  const start = performance.now();
  const cpu = process.cpuUsage();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, options.ms))), done]);
  clearTimeout(timer);
  const elapsed = performance.now() - start;
  const used = process.cpuUsage(cpu);
  stop = true;
  await done;
  latencies.sort((a, b) => a - b);
  return {
    opsPerSecond: latencies.length / (elapsed / 1000),
    p50: latencies[Math.floor(latencies.length * 0.5)] ?? NaN,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN,
    clientCpu: (used.user + used.system) / Math.max(1, latencies.length),
    count: latencies.length,
  };
}
