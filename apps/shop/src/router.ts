import { createRouter, createWebHistory, type Router } from 'vue-router';
import CatalogueView from './views/CatalogueView.vue';
import CartView from './views/CartView.vue';
import DevicesView from './views/DevicesView.vue';
import LoginView from './views/LoginView.vue';

declare module 'vue-router' {
  interface RouteMeta {
    title?: string;
  }
}

export function createShopRouter(): Router {
  const router = createRouter({
    history: createWebHistory(),
    // A new page starts at its top (the sign-in page after a remote sign-out, too).
    scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
    routes: [
      { path: '/login', name: 'login', component: LoginView, meta: { title: 'Sign in' } },
      { path: '/', name: 'shop', component: CatalogueView, meta: { requiresAuth: true, title: 'Shop' } },
      { path: '/cart', name: 'cart', component: CartView, meta: { requiresAuth: true, title: 'Your cart' } },
      { path: '/devices', name: 'devices', component: DevicesView, meta: { requiresAuth: true, title: 'Your devices' } },
      { path: '/:unknown(.*)*', redirect: '/' },
    ],
  });
  router.afterEach((to) => {
    document.title = to.meta.title ? `${to.meta.title} · Tessera Mosaics` : 'Tessera Mosaics';
  });
  return router;
}
