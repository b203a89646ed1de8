/**
 * What a person recognises in a User-Agent string: the browser and the system ("Chrome 131 on
 * Linux"), and the kind of device. A display aid only: a User-Agent is whatever the client sent,
 * so nothing here decides anything about security.
 */
import type { DeviceKind } from '@tessera/client';

export interface UserAgentSummary {
  browser: string | null;
  version: string | null;
  os: string | null;
  kind: DeviceKind;
}

// Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
const BROWSERS: readonly [RegExp, string][] = [
  [/Edg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/(?:OPR|Opera)\/(\d+)/, 'Opera'],
  [/SamsungBrowser\/(\d+)/, 'Samsung Internet'],
  [/Firefox\/(\d+)|FxiOS\/(\d+)/, 'Firefox'],
  [/HeadlessChrome\/(\d+)/, 'Headless Chrome'],
  [/Chrome\/(\d+)|CriOS\/(\d+)/, 'Chrome'],
  [/Version\/(\d+)[^ ]* (?:Mobile\/\S+ )?Safari\//, 'Safari'],
  [/^curl\/(\d+)/, 'curl'],
];

const SYSTEMS: readonly [RegExp, string][] = [
  [/iPhone/, 'iPhone'],
  [/iPad/, 'iPad'],
  [/Android/, 'Android'],
  [/CrOS/, 'ChromeOS'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/Linux/, 'Linux'],
];

export function summariseUserAgent(userAgent: string | null | undefined): UserAgentSummary {
  const ua = userAgent ?? '';
  let browser: string | null = null;
  let version: string | null = null;
  for (const [pattern, name] of BROWSERS) {
    const match = pattern.exec(ua);
    if (match) {
      browser = name;
      version = match.slice(1).find((group) => group !== undefined) ?? null;
      break;
    }
  }
  const os = SYSTEMS.find(([pattern]) => pattern.test(ua))?.[1] ?? null;
  return { browser, version, os, kind: deviceKind(ua) };
}

function deviceKind(ua: string): DeviceKind {
  if (/iPad|Tablet|Android(?!.*Mobile)/.test(ua)) return 'tablet';
  if (/Mobi|iPhone|iPod/.test(ua)) return 'mobile';
  if (/bot|crawl|spider|^curl\//i.test(ua)) return 'bot';
  if (/SmartTV|SMART-TV|TV;/i.test(ua)) return 'tv';
  return ua ? 'desktop' : 'other';
}

/** "Chrome 131 on Linux", "Safari on iPhone", or "Unknown browser". */
export function describeUserAgent(userAgent: string | null | undefined): string {
  const { browser, version, os } = summariseUserAgent(userAgent);
  const name = browser ? (version ? `${browser} ${version}` : browser) : os ? 'A browser' : 'Unknown browser';
  return os ? `${name} on ${os}` : name;
}

/** A default name for this device at sign-in: "Chrome on Linux". The user may change it. */
export function defaultDeviceName(userAgent: string): string {
  const { browser, os } = summariseUserAgent(userAgent);
  if (browser && os) return `${browser} on ${os}`;
  return browser ?? os ?? 'This browser';
}
