import { describe, expect, it } from 'vitest';
import { assignPaths, pickPaths } from './paths.js';

describe('pickPaths / assignPaths', () => {
  const state = { items: ['tea'], profile: { theme: 'dark', name: 'Alice' }, coupon: 'X' };

  it('picks only the chosen paths, nested ones included', () => {
    expect(pickPaths(state, ['items', 'profile.theme'])).toEqual({ items: ['tea'], profile: { theme: 'dark' } });
    expect(pickPaths(state, ['missing', 'profile.missing.deep'])).toEqual({});
  });

  it('assigns only the chosen paths back, and never reshapes the target', () => {
    const target = { items: [] as string[], profile: { theme: 'light', name: 'Bob' }, coupon: '' };
    assignPaths(target, { items: ['tea'], profile: { theme: 'dark', name: 'Mallory' }, coupon: 'Y' }, ['items', 'profile.theme']);
    expect(target).toEqual({ items: ['tea'], profile: { theme: 'dark', name: 'Bob' }, coupon: '' });
    const flat = { profile: 'not an object' };
    assignPaths(flat, { profile: { theme: 'dark' } }, ['profile.theme']);
    expect(flat).toEqual({ profile: 'not an object' });
  });

  it('refuses paths that would reach the prototype', () => {
    const target: Record<string, unknown> = {};
    assignPaths(target, JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>, ['__proto__.polluted', 'constructor.prototype.polluted']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
