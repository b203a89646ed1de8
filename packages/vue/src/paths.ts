/**
 * Dot-separated state paths (`'cart.items'`, `'profile'`): which parts of a store are persisted.
 * Pure functions on plain data.
 */

type Tree = Record<string, unknown>;

const isTree = (value: unknown): value is Tree => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A new object with only the values at `paths` (absent paths are left out). */
export function pickPaths(state: Tree, paths: readonly string[]): Tree {
  const out: Tree = {};
  for (const path of paths) {
    const keys = path.split('.');
    let from: unknown = state;
    for (const key of keys) from = isTree(from) && Object.hasOwn(from, key) ? from[key] : undefined;
    if (from === undefined) continue;
    let into = out;
    keys.forEach((key, i) => {
      if (i === keys.length - 1) into[key] = from;
      else into = isTree(into[key]) ? (into[key] as Tree) : (into[key] = {});
    });
  }
  return out;
}

/**
 * Writes into `target` the values `source` has at `paths`; a path `source` lacks is left alone,
 * and so is one whose parent in `target` is not an object (persisted data never reshapes the store).
 * Keys that would reach the prototype are refused.
 */
export function assignPaths(target: Tree, source: Tree, paths: readonly string[]): void {
  for (const path of paths) {
    const keys = path.split('.');
    if (keys.some((key) => key === '__proto__' || key === 'constructor' || key === 'prototype')) continue;
    let from: unknown = source;
    for (const key of keys) from = isTree(from) && Object.hasOwn(from, key) ? from[key] : undefined;
    if (from === undefined) continue;
    let into: unknown = target;
    for (const key of keys.slice(0, -1)) into = isTree(into) ? into[key] : undefined;
    if (isTree(into)) into[keys[keys.length - 1]!] = from;
  }
}
