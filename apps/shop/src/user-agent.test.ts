import { describe, expect, it } from 'vitest';
import { defaultDeviceName, describeUserAgent, summariseUserAgent } from './user-agent';

const UA = {
  chromeLinux: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  edgeWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70',
  safariIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  safariMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  firefoxAndroid: 'Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0',
  chromeIpad: 'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1',
  curl: 'curl/8.5.0',
};

describe('user agents', () => {
  it('names the browser, its major version and the system', () => {
    expect(describeUserAgent(UA.chromeLinux)).toBe('Chrome 131 on Linux');
    expect(describeUserAgent(UA.edgeWindows)).toBe('Edge 131 on Windows');
    expect(describeUserAgent(UA.safariIphone)).toBe('Safari 17 on iPhone');
    expect(describeUserAgent(UA.safariMac)).toBe('Safari 17 on macOS');
    expect(describeUserAgent(UA.firefoxAndroid)).toBe('Firefox 128 on Android');
    expect(describeUserAgent(UA.chromeIpad)).toBe('Chrome 126 on iPad');
    expect(describeUserAgent(UA.curl)).toBe('curl 8');
    expect(describeUserAgent(null)).toBe('Unknown browser');
    expect(describeUserAgent('Mozilla/5.0 (X11; Linux x86_64)')).toBe('A browser on Linux');
  });

  it('tells phones, tablets and computers apart', () => {
    expect(summariseUserAgent(UA.chromeLinux).kind).toBe('desktop');
    expect(summariseUserAgent(UA.safariIphone).kind).toBe('mobile');
    expect(summariseUserAgent(UA.firefoxAndroid).kind).toBe('mobile');
    expect(summariseUserAgent(UA.chromeIpad).kind).toBe('tablet');
    expect(summariseUserAgent(UA.curl).kind).toBe('bot');
    expect(summariseUserAgent('').kind).toBe('other');
  });

  it('suggests a device name without version numbers', () => {
    expect(defaultDeviceName(UA.chromeLinux)).toBe('Chrome on Linux');
    expect(defaultDeviceName(UA.safariIphone)).toBe('Safari on iPhone');
    expect(defaultDeviceName('')).toBe('This browser');
  });
});
