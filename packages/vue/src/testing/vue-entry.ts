/**
 * The test application of the real-browser tests: a client, Pinia with the persistence plugin, a
 * router with the session guard (hash history, so that a reload keeps the route), two persisted
 * stores (an options store and a setup store). `window.startApp()` builds and mounts it.
 */
import { createApp, defineComponent, h, ref } from 'vue';
import { createPinia, defineStore } from 'pinia';
import { createRouter, createWebHashHistory, RouterView } from 'vue-router';
import { createEncryptedStorage, createTesseraClient } from '@tessera/client';
import { createTessera, createTesseraPersistence, installSessionGuard, useSession } from '../index.js';

export const useCart = defineStore('cart', {
  state: () => ({ items: [] as string[], coupon: '' }),
  actions: {
    add(item: string) {
      this.items.push(item);
    },
  },
  persist: { pick: ['items'] },
});

export const usePrefs = defineStore(
  'prefs',
  () => {
    const theme = ref('light');
    const volatile = ref(0);
    return { theme, volatile };
  },
  { persist: { pick: ['theme'] } },
);

const Status = defineComponent({
  props: { label: { type: String, required: true } },
  setup(props) {
    const { signedIn, userId } = useSession();
    return () => h('p', { id: 'view' }, `${props.label}:${signedIn.value ? userId.value : 'anonymous'}`);
  },
});

async function startApp() {
  const base = createEncryptedStorage();
  let writes = 0;
  // The real storage, with its writes counted (to see the write-behind coalesce).
  const storage = { ...base, setItem: (name: string, value: unknown) => (writes++, base.setItem(name, value)) };
  const client = createTesseraClient({ baseUrl: '', storage });
  const persistence = createTesseraPersistence(client);
  const pinia = createPinia();
  pinia.use(persistence);
  const router = createRouter({
    history: createWebHashHistory(),
    routes: [
      { path: '/', component: { render: () => h(Status, { label: 'home' }) } },
      { path: '/login', component: { render: () => h(Status, { label: 'login' }) } },
      { path: '/account', component: { render: () => h(Status, { label: 'account' }) }, meta: { requiresAuth: true } },
    ],
  });
  installSessionGuard(router, client, { loginRoute: '/login' });
  const app = createApp({ render: () => h(RouterView) });
  app.use(pinia).use(router).use(createTessera(client));
  app.mount('#app');
  await router.isReady();
  // The stores are created on first use (as in an application), so a test can catch them before hydration.
  const app_ = { client, persistence, router, writes: () => writes, session: useSession(client) };
  Object.defineProperties(app_, { cart: { get: () => useCart(pinia) }, prefs: { get: () => usePrefs(pinia) } });
  Object.assign(window, { app: app_ });
}

Object.assign(window, { startApp });
