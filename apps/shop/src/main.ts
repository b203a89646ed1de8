import { createApp } from 'vue';
import { createPinia } from 'pinia';
import { createTessera, createTesseraPersistence, installSessionGuard } from '@tessera/vue';
import App from './App.vue';
import { createShopRouter } from './router';
import { client } from './tessera';
import './style.css';

const pinia = createPinia();
pinia.use(createTesseraPersistence(client));
const router = createShopRouter();
// Signed-out visitors go to /login and come back after signing in; a tab whose session ends
// (logout or revocation, here or in another tab or device) leaves its page for /login at once.
installSessionGuard(router, client, { loginRoute: '/login' });

createApp(App).use(pinia).use(router).use(createTessera(client)).mount('#app');
