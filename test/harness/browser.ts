/**
 * A headless Chromium for browser tests: Debian's /usr/bin/chromium (installed by .ci/run) driven through
 * playwright-core, which downloads no browser of its own. Each launch gets a new, empty profile directory,
 * removed again on close.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, type BrowserContextOptions, chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface LaunchedBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** One browser with one context (its options, e.g. `javaScriptEnabled: false`, apply to every page). */
export async function launchChromium(options: BrowserContextOptions = {}): Promise<LaunchedBrowser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'lpa-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
    ...options,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
