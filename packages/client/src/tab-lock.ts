/**
 * One holder at a time across every tab of this origin: the Web Locks API where the browser has it
 * (every current browser), a lease in localStorage where it does not.
 *
 * The lease is best effort (localStorage has no compare-and-set, and other tabs see a write only
 * after a short delay); two tabs that both win it send the same refresh token, and the service's
 * grace window answers both with the same successor (DESIGN "Refresh"), so a lost race costs one
 * request, never a session.
 */
import { randomId } from './encrypted-storage.js';

const LEASE_MS = 15_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function withTabLock<T>(name: string, task: () => Promise<T>): Promise<T> {
  const locks = globalThis.navigator?.locks;
  return locks ? (locks.request(name, task) as Promise<T>) : withLease(name, task);
}

async function withLease<T>(name: string, task: () => Promise<T>): Promise<T> {
  const me = randomId();
  const mine = () => localStorage.getItem(name)?.startsWith(me) === true;
  try {
    for (;;) {
      const [owner, until] = (localStorage.getItem(name) ?? '').split(' ');
      if (!owner || Number(until) < Date.now()) {
        localStorage.setItem(name, `${me} ${Date.now() + LEASE_MS}`);
        // Let a rival's concurrent write land: whoever wrote last owns the lease.
        await sleep(40);
        if (mine()) break;
      } else {
        await sleep(40 + Math.random() * 60);
      }
    }
  } catch {
    // No localStorage either (a sandboxed frame): the in-tab single flight is all there is.
    return task();
  }
  try {
    return await task();
  } finally {
    if (mine()) localStorage.removeItem(name);
  }
}
