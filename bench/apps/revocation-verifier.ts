/**
 * The other process of the revocation benchmark (parts/revocation.ts): a verifier — an engine on the
 * same store as the runner's, or a remote verifier against `tessera serve` — that, for each token the
 * runner hands it, checks that it is accepted, then verifies it again and again (each time the event
 * loop comes round, as requests would) until it is refused, and reports the instant it was, on the
 * machine's monotonic clock (`process.hrtime`, CLOCK_MONOTONIC: the same clock in every process).
 *
 *   node --conditions=source --import tsx bench/apps/revocation-verifier.ts <store URL | remote:<service URL>>
 *
 * Settings from the runner: BENCH_ISSUER, BENCH_AUDIENCE (and BENCH_ADMIN_KEY for remote).
 */
import { Engine, isTesseraError } from '@tessera/core';
import { createRemoteVerifier, type AccessVerifier } from '@tessera/node';
import { openStore } from '@tessera/server';
import { ready, setting } from './ipc.js';

const target = process.argv[2];
if (!target) throw new Error('usage: revocation-verifier.ts <store URL | remote:<service URL>>');
const issuer = setting('BENCH_ISSUER');
const audience = setting('BENCH_AUDIENCE');
const verifier: AccessVerifier = target.startsWith('remote:')
  ? await createRemoteVerifier({ url: target.slice('remote:'.length), adminKey: setting('BENCH_ADMIN_KEY'), issuer, audience })
  : await Engine.create({ store: await openStore(target), issuer, audience });

/** How long to wait for a refusal before reporting none. */
const GIVE_UP_MS = 5000;

process.on('message', (message: { type?: string; id?: number; token?: string }) => {
  if (message?.type !== 'watch' || typeof message.token !== 'string') return;
  const { id, token } = message;
  verifier.verify(token).then(
    () => {
      process.send!({ type: 'watching', id });
      const deadline = performance.now() + GIVE_UP_MS;
      const again = () => {
        verifier.verify(token).then(
          () => (performance.now() < deadline ? setImmediate(again) : process.send!({ type: 'refused', id, at: null, code: 'still accepted' })),
          (error: unknown) => process.send!({ type: 'refused', id, at: String(process.hrtime.bigint()), code: isTesseraError(error) ? error.code : String(error) }),
        );
      };
      setImmediate(again);
    },
    (error: unknown) => process.send!({ type: 'watching', id, error: isTesseraError(error) ? error.code : String(error) }),
  );
});

ready({});
