/**
 * How a benchmark process talks to the runner: one `ready` message once it serves, and it exits when
 * the runner goes away (the IPC channel closes) or asks it to (SIGTERM), so that none is left behind.
 * On request it records a CPU profile of a window of its life (`profile-start`, then `profile-stop`
 * with a file name): bench/profile-app.ts uses that to profile the steady state only.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

export function ready(message: Record<string, unknown>): void {
  if (!process.send) throw new Error('run this from the benchmark runner (it needs an IPC channel)');
  process.send({ type: 'ready', ...message });
}

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

let profiler: Session | undefined;
process.on('message', (message: { type?: string; file?: string }) => {
  if (message?.type === 'profile-start') {
    profiler = new Session();
    profiler.connect();
    void profiler
      .post('Profiler.enable')
      .then(() => profiler!.post('Profiler.setSamplingInterval', { interval: 100 }))
      .then(() => profiler!.post('Profiler.start'))
      .then(() => process.send!({ type: 'profile-started' }));
  } else if (message?.type === 'profile-stop' && profiler && message.file) {
    const file = message.file;
    void profiler.post('Profiler.stop').then(({ profile }) => {
      writeFileSync(file, JSON.stringify(profile));
      profiler!.disconnect();
      profiler = undefined;
      process.send!({ type: 'profile-stopped', file });
    });
  }
});

/** A setting the runner passes in the environment. */
export function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (the benchmark runner sets it)`);
  return value;
}
