/**
 * `useSession()`: the client's state as Vue reactivity, and its actions.
 *
 *   app.use(createTessera(client));            // once
 *   const { signedIn, userId, login, logout } = useSession();   // in any component
 */
import { computed, inject, shallowRef, type App, type ComputedRef, type InjectionKey, type ShallowRef } from 'vue';
import type { SessionState, TesseraClient } from '@tessera/client';

export const TESSERA_CLIENT: InjectionKey<TesseraClient> = Symbol('tessera');

/** The Vue plugin: makes `client` available to `useSession()` in every component. */
export function createTessera(client: TesseraClient): { install(app: App): void } {
  return { install: (app) => void app.provide(TESSERA_CLIENT, client) };
}

export interface UseSession {
  state: Readonly<ShallowRef<SessionState>>;
  signedIn: ComputedRef<boolean>;
  /** False until the client knows whether this browser is signed in. */
  ready: ComputedRef<boolean>;
  userId: ComputedRef<string | null>;
  session: ComputedRef<SessionState['session']>;
  login: TesseraClient['login'];
  logout: TesseraClient['logout'];
  sessions: TesseraClient['sessions'];
  fetch: TesseraClient['fetch'];
  getAccessToken: TesseraClient['getAccessToken'];
}

const states = new WeakMap<TesseraClient, ShallowRef<SessionState>>();

/** Reactive session state; `client` defaults to the one given to `createTessera` (call it in `setup`). */
export function useSession(client: TesseraClient | undefined = inject(TESSERA_CLIENT)): UseSession {
  if (!client) throw new Error('useSession() needs a client: app.use(createTessera(client)), or pass it');
  let current = states.get(client);
  if (!current) {
    const ref = shallowRef(client.state);
    client.on('change', (next) => (ref.value = next));
    states.set(client, (current = ref));
  }
  return {
    state: current,
    signedIn: computed(() => current.value.status === 'signed-in'),
    ready: computed(() => current.value.status !== 'loading'),
    userId: computed(() => current.value.userId),
    session: computed(() => current.value.session),
    login: client.login,
    logout: client.logout,
    sessions: client.sessions,
    fetch: client.fetch,
    getAccessToken: client.getAccessToken,
  };
}
