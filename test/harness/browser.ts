/**
 * A headless Chromium for tests that look at rendered HTML (the transcript, the status page): Debian's
 * /usr/bin/chromium driven by playwright-core (which downloads no browser of its own), with a new empty
 * profile per launch and everything that would reach the network on its own switched off. `.ci/run`
 * installs the chromium package.
 *
 *   launchBrowser(): pages that may not load anything from outside (the transcript);
 *   launchChromium(options): one context with the caller's options (the status page test routes requests
 *   to the local host itself).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
  type Request,
} from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  /** A new page of the given viewport; `requests` lists every request it made that was not a data: URL. */
  newPage(viewport: { width: number; height: number }): Promise<{ page: Page; requests: string[] }>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}. Install it with: apt-get update && apt-get install -y --no-install-recommends chromium (.ci/run does this)`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'lp-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      offline: true,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    async newPage(viewport) {
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      const requests: string[] = [];
      const outside = (r: Request) => !r.url().startsWith('data:') && r.url() !== 'about:blank';
      page.on('request', (r) => {
        if (outside(r)) requests.push(r.url());
      });
      // Nothing may leave the page: every request is recorded above and refused here.
      await page.route('**/*', (route) =>
        route.request().url().startsWith('data:') ? route.continue() : route.abort('blockedbyclient'),
      );
      return { page, requests };
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export interface LaunchedBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** One browser with one context (its options, e.g. `javaScriptEnabled: false`, apply to every page). */
export async function launchChromium(options: BrowserContextOptions = {}): Promise<LaunchedBrowser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`Chromium is not installed at ${CHROMIUM_PATH} (.ci/run installs it)`);
  const profile = await mkdtemp(join(tmpdir(), 'lp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    ...options,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
