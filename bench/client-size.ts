/**
 * What the browser client costs to ship, next to its peers, bundled the same way (see
 * lib/bundle-size.ts for the method; `npm run bench -- --only=bundle` records it with the rest).
 *
 *   npm run bench:client-size
 */
import { CLIENT_TARGET_BYTES, bundleSizes, kb } from './lib/bundle-size.js';

const { esbuild, rows } = await bundleSizes();
const ours = rows[0]!.gzip;
console.log(`Bundle size of a typical import (esbuild ${esbuild}: ESM, minify, platform browser, tree-shaken; gzip -9)\n`);
console.log('| library | version | minified | min + gzip | min + brotli | gzip vs @tessera/client |');
console.log('|---|---|---:|---:|---:|---:|');
for (const row of rows) {
  console.log(`| ${row.name} | ${row.version} | ${kb(row.min)} | ${kb(row.gzip)} | ${kb(row.brotli)} | ${(row.gzip / ours).toFixed(2)}× |`);
}
console.log(`\nTarget: @tessera/client < ${kb(CLIENT_TARGET_BYTES)} min + gzip: ${ours < CLIENT_TARGET_BYTES ? 'met' : 'MISSED'} (${ours} bytes).`);
if (ours >= CLIENT_TARGET_BYTES) process.exitCode = 1;
