import { describe, expect, it } from 'vitest';
import { browserOf } from './format';

describe('browserOf', () => {
  it('names the browser and the system', () => {
    expect(browserOf('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36')).toBe('Chrome 131 · Linux');
    expect(browserOf('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1')).toBe('Safari 17 · iPhone');
    expect(browserOf('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70')).toBe('Edge 131 · Windows');
    expect(browserOf('curl/8.5.0')).toBe('curl');
    expect(browserOf('node')).toBe('Unknown browser');
    expect(browserOf(null)).toBe('—');
  });
});
