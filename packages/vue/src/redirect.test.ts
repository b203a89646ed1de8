import { describe, expect, it } from 'vitest';
import { safeRedirect } from './redirect.js';

describe('safeRedirect', () => {
  it('keeps paths on this origin', () => {
    expect(safeRedirect('/account?tab=devices#top')).toBe('/account?tab=devices#top');
    expect(safeRedirect(['/orders', '/other'])).toBe('/orders');
  });

  it('refuses anything that would leave the origin', () => {
    for (const evil of ['//evil.example', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)', '/\t/evil.example', 'account', '', null, undefined, 42]) {
      expect(safeRedirect(evil, '/home')).toBe('/home');
    }
  });
});
