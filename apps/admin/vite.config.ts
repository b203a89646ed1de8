/** The dashboard is served by `tessera serve` at /admin/, on the service's own origin. */
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

const service = process.env.TESSERA_URL ?? 'http://localhost:8080';

export default defineConfig({
  base: '/admin/',
  plugins: [vue()],
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, reportCompressedSize: false },
  server: { proxy: { '/v1': service, '/.well-known': service } },
});
