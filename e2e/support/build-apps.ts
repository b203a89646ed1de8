/**
 * Builds the shop and the dashboard (`vite build`, as `npm run build` does), so that the journeys
 * test what the sources say now rather than whatever `dist` an earlier build left. About a second each.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const VITE = join(REPO_ROOT, 'node_modules/vite/bin/vite.js');

export function buildApps(): void {
  for (const app of ['apps/shop', 'apps/admin']) {
    const result = spawnSync(process.execPath, [VITE, 'build', '--logLevel', 'warn'], { cwd: join(REPO_ROOT, app), encoding: 'utf8', timeout: 120_000 });
    if (result.status !== 0) throw new Error(`vite build ${app} failed:\n${result.stdout}\n${result.stderr}`);
  }
}
