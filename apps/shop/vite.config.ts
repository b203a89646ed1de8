/**
 * The shop is served by `tessera serve` from the same origin as the service's API, so cookies,
 * `Origin` checks and CSRF proofs are the real ones. `npm run dev` proxies the API to a service on
 * :8080 (start it with TESSERA_ALLOWED_ORIGINS=http://localhost:5173).
 */
import { defaultClientConditions, defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

const service = process.env.TESSERA_URL ?? 'http://localhost:8080';

export default defineConfig({
  plugins: [vue()],
  // The workspace packages from their TypeScript sources: the apps build without `tsc -b` first.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, reportCompressedSize: false },
  server: { proxy: { '/v1': { target: service, ws: true }, '/.well-known': service } },
});
