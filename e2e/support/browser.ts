/**
 * Debian's Chromium (playwright-core downloads nothing), and the "devices" of the journeys: each one
 * a browser context of its own (its own cookies, IndexedDB and tabs), with the screen and the
 * User-Agent of a laptop, a phone or a tablet.
 */
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, BrowserContextOptions } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../../packages/client/src/testing/harness.js';

export { launchChromium };

/**
 * Whether the journeys can run. Without Chromium they are skipped with a loud message, except under
 * CI=true, where a missing browser is a failure (the caller throws the returned reason).
 */
export function chromiumAvailability(): { run: boolean; failure?: string } {
  if (existsSync(CHROMIUM)) return { run: true };
  const message = `${CHROMIUM} is missing: the user journeys of the shop and the dashboard cannot run (apt-get install -y chromium)`;
  if (process.env.CI === 'true') return { run: true, failure: message };
  console.warn(`\n${'!'.repeat(100)}\n!! SKIPPED: ${message}\n${'!'.repeat(100)}\n`);
  return { run: false };
}

export type DeviceShape = 'laptop' | 'phone' | 'tablet';

/** A context that looks like a laptop, a phone or a tablet (screen, touch, User-Agent). */
export async function newDevice(browser: Browser, shape: DeviceShape): Promise<BrowserContext> {
  const major = browser.version().split('.')[0];
  const webkit = 'AppleWebKit/537.36 (KHTML, like Gecko)';
  const options: Record<DeviceShape, BrowserContextOptions> = {
    laptop: { viewport: { width: 1200, height: 800 }, userAgent: `Mozilla/5.0 (X11; Linux x86_64) ${webkit} Chrome/${major}.0.0.0 Safari/537.36` },
    phone: {
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      userAgent: `Mozilla/5.0 (Linux; Android 14; Pixel 8) ${webkit} Chrome/${major}.0.0.0 Mobile Safari/537.36`,
    },
    tablet: {
      viewport: { width: 800, height: 1100 },
      isMobile: true,
      hasTouch: true,
      userAgent: `Mozilla/5.0 (Linux; Android 14; Pixel Tablet) ${webkit} Chrome/${major}.0.0.0 Safari/537.36`,
    },
  };
  // Small PNGs: one device pixel per CSS pixel.
  return browser.newContext({ deviceScaleFactor: 1, locale: 'en-GB', timezoneId: 'Europe/Rome', ...options[shape] });
}
