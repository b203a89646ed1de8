/**
 * What the browser client costs to ship, next to its peers, bundled the same way.
 *
 *   npm run bench:client-size
 *
 * Each entry imports a library's main client factory (as an application would) and re-exports it,
 * so tree shaking keeps exactly what that import needs. esbuild: ESM, minified, browser platform,
 * `process.env.NODE_ENV = "production"`; then gzip level 9 (and brotli, for reference). The peers
 * of @tessera/vue (vue, pinia, vue-router) are external, as in any Vue application that has them
 * already; @tessera/vue is measured alone and together with @tessera/client.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const TARGET_BYTES = 6 * 1024;

interface Contender {
  name: string;
  /** The package whose version is shown. */
  pkg: string;
  entry: string;
  external?: string[];
}

const contenders: Contender[] = [
  { name: '@tessera/client', pkg: '@tessera/client', entry: `export { createTesseraClient } from '@tessera/client';` },
  {
    name: '@tessera/vue (alone; client and Vue peers external)',
    pkg: '@tessera/vue',
    entry: `export { createTessera, createTesseraPersistence, useSession, installSessionGuard } from '@tessera/vue';`,
    external: ['vue', 'pinia', 'vue-router', '@tessera/client'],
  },
  {
    name: '@tessera/vue + @tessera/client (Vue peers external)',
    pkg: '@tessera/vue',
    entry: `export { createTessera, createTesseraPersistence, useSession, installSessionGuard } from '@tessera/vue'; export { createTesseraClient } from '@tessera/client';`,
    external: ['vue', 'pinia', 'vue-router'],
  },
  { name: '@auth0/auth0-spa-js', pkg: '@auth0/auth0-spa-js', entry: `export { createAuth0Client } from '@auth0/auth0-spa-js';` },
  { name: 'oidc-client-ts', pkg: 'oidc-client-ts', entry: `export { UserManager } from 'oidc-client-ts';` },
  {
    name: 'supertokens-web-js (SuperTokens + Session recipe)',
    pkg: 'supertokens-web-js',
    entry: `export { default as SuperTokens } from 'supertokens-web-js'; export { default as Session } from 'supertokens-web-js/recipe/session';`,
  },
];

function versionOf(pkg: string): string {
  const local: Record<string, string> = { '@tessera/client': 'packages/client', '@tessera/vue': 'packages/vue' };
  const file = local[pkg] ? join(root, local[pkg], 'package.json') : require.resolve(`${pkg}/package.json`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

async function measure(contender: Contender): Promise<{ min: number; gzip: number; brotli: number }> {
  const result = await build({
    stdin: { contents: contender.entry, resolveDir: root, loader: 'js', sourcefile: 'entry.js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    treeShaking: true,
    conditions: ['source'],
    external: contender.external ?? [],
    define: { 'process.env.NODE_ENV': '"production"' },
    write: false,
    logLevel: 'error',
  });
  const code = result.outputFiles[0]!.contents;
  return {
    min: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KB`;

async function main(): Promise<void> {
  const rows = [];
  for (const contender of contenders) rows.push({ contender, version: versionOf(contender.pkg), ...(await measure(contender)) });
  const ours = rows[0]!.gzip;
  console.log(`Bundle size of a typical import (esbuild ${(await import('esbuild')).version}: ESM, minify, platform browser, tree-shaken; gzip -9)\n`);
  console.log('| library | version | minified | min + gzip | min + brotli | gzip vs @tessera/client |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const row of rows) {
    console.log(`| ${row.contender.name} | ${row.version} | ${kb(row.min)} | ${kb(row.gzip)} | ${kb(row.brotli)} | ${(row.gzip / ours).toFixed(2)}× |`);
  }
  console.log(`\nTarget: @tessera/client < ${kb(TARGET_BYTES)} min + gzip: ${ours < TARGET_BYTES ? 'met' : 'MISSED'} (${ours} bytes).`);
  if (ours >= TARGET_BYTES) process.exitCode = 1;
}

await main();
