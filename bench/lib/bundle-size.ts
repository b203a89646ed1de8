/**
 * What a browser library costs to ship, bundled the same way for every contender.
 *
 * Each entry imports a library's main client factory (as an application would) and re-exports it,
 * so tree shaking keeps exactly what that import needs. esbuild: ESM, minified, browser platform,
 * `process.env.NODE_ENV = "production"`; then gzip level 9 (and brotli, for reference). The peers
 * of @tessera/vue (vue, pinia, vue-router) are external, as in any Vue application that has them
 * already; @tessera/vue is measured alone and together with @tessera/client.
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build, version as esbuildVersion } from 'esbuild';
import { ROOT, versionOf } from './machine.js';

/** @tessera/client's budget, min + gzip. */
export const CLIENT_TARGET_BYTES = 6 * 1024;

export interface BundleContender {
  name: string;
  /** The package whose version is shown. */
  pkg: string;
  entry: string;
  external?: string[];
}

export const BUNDLE_CONTENDERS: BundleContender[] = [
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

export interface BundleSize {
  name: string;
  pkg: string;
  version: string;
  min: number;
  gzip: number;
  brotli: number;
}

export async function bundleSize(contender: BundleContender): Promise<BundleSize> {
  const result = await build({
    stdin: { contents: contender.entry, resolveDir: ROOT, loader: 'js', sourcefile: 'entry.js' },
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
    name: contender.name,
    pkg: contender.pkg,
    version: versionOf(contender.pkg),
    min: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

export async function bundleSizes(): Promise<{ esbuild: string; rows: BundleSize[] }> {
  const rows: BundleSize[] = [];
  for (const contender of BUNDLE_CONTENDERS) rows.push(await bundleSize(contender));
  return { esbuild: esbuildVersion, rows };
}

export const kb = (bytes: number): string => `${(bytes / 1024).toFixed(2)} KB`;
