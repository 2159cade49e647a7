/**
 * The status page in a real browser: the whole pipeline (Azurite, LivePerson sandbox, local Functions host
 * with the app's registrations) archives a sandbox account, then a headless Chromium with JavaScript off
 * opens /api/status and /api/automation/status. The figures it shows are checked against counts made here
 * from the status table's raw rows, independently of the page's own code.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { DeliveryLog } from '../../lib/statuslog/status-log.js';
import { type Pipeline, startPipeline } from '../e2e/pipeline-harness.js';
import { type LaunchedBrowser, launchChromium } from '../harness/browser.js';

const OUT = path.resolve('test-output');
const HOSTILE_REASON = 'ConversionError: field <img src="/beacon" onerror="x()"> & more';

interface Expected {
  archived: number;
  partial: number;
  failed: number;
  delivered: number;
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('status page in Chromium (JavaScript off) on the running pipeline', () => {
  let p: Pipeline;
  let browser: LaunchedBrowser;
  let origin: string;
  const requests: string[] = [];
  const consoleProblems: string[] = [];
  let from: string;
  let to: string;
  const expected = new Map<string, Expected>();

  beforeAll(async () => {
    p = await startPipeline({
      connection: inject('storageConnection'),
      sandbox: { conversations: 16, seed: 11, spanDays: 5 },
    });
    await p.discoverAndSettle();
    origin = new URL(p.host.httpUrl).origin;
    const now = p.sandbox.clock.now();
    from = dayOf(now - 29 * 86_400_000);
    to = dayOf(now);

    // Rows the mailbox stage and the poison handler write (no Graph sandbox here): a few items
    // delivered, one delivery failed, and one conversation that failed to archive with a hostile reason.
    const items = await p.statusRows(from, to);
    expect(items.length).toBeGreaterThan(4);
    const deliveries = new DeliveryLog(p.runtime.storage.table(p.settings.STATUS_TABLE!));
    const done = { reason: '', graphMessageIds: ['g'], parts: 1, omitted: 0, attempts: 1 };
    for (const it of items.slice(0, 3)) {
      const ref = { day: it.partitionKey, conversationId: it.conversationId, itemKey: it.version };
      await deliveries.finished(ref, 'jane.doe@bank.example', { ...done, status: 'delivered' });
      await deliveries.finished(ref, 'sam.manager@bank.example', { ...done, status: 'delivered' });
    }
    const last = items[items.length - 1]!;
    await deliveries.failedAttempt(
      { day: last.partitionKey, conversationId: last.conversationId, itemKey: last.version },
      'gone@bank.example',
      'Graph 404 MailboxNotEnabledForRESTAPI',
      5,
      true,
    );
    await p.runtime.statusLog(silentLogger).recordFailed({
      day: items[0]!.partitionKey,
      conversationId: 'conv-that-failed',
      reason: HOSTILE_REASON,
    });

    // Independent expectation: straight from the table's raw entities.
    for await (const e of p.runtime.statusLog(silentLogger).entities(from, to)) {
      const day = String(e.partitionKey);
      const x = expected.get(day) ?? { archived: 0, partial: 0, failed: 0, delivered: 0 };
      if (e.kind === 'delivery') {
        if (e.deliveryStatus === 'delivered') x.delivered++;
      } else if (e.status === 'archived') x.archived++;
      else if (e.status === 'partial') x.partial++;
      else if (e.status === 'failed') x.failed++;
      expected.set(day, x);
    }

    browser = await launchChromium({ javaScriptEnabled: false, viewport: { width: 1400, height: 900 } });
    // Every request the browser makes is recorded; anything not for the app itself is refused.
    await browser.context.route('**/*', (route) => {
      const url = route.request().url();
      requests.push(url);
      return url.startsWith(`${origin}/`) ? route.continue() : route.abort();
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await p?.stop();
  });

  async function open(pathAndQuery: string): Promise<{ page: Page; headers: Record<string, string> }> {
    const page = await browser.context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleProblems.push(m.text());
    });
    requests.length = 0;
    const res = await page.goto(`${origin}${pathAndQuery}`);
    expect(res?.status()).toBe(200);
    return { page, headers: res!.headers() };
  }

  const num = (s: string | null) => Number((s ?? '').replace(/,/g, ''));

  it('shows per day exactly what the status table holds, in the chart and in the table', async () => {
    const { page } = await open('/api/status');
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: path.join(OUT, 'status-page.png'), fullPage: true });

    const rows = page.locator('table#history-table tbody tr');
    expect(await rows.count()).toBe(30);
    const days = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-day')!));
    expect(days[0]).toBe(to);
    expect(days[29]).toBe(from);
    let nonEmptyDays = 0;
    for (const day of days) {
      const x = expected.get(day) ?? { archived: 0, partial: 0, failed: 0, delivered: 0 };
      const cell = (col: string) => page.locator(`tr[data-day="${day}"] td[data-col="${col}"]`).textContent();
      expect(
        {
          archived: num(await cell('archived')),
          partial: num(await cell('partial')),
          failed: num(await cell('failed')),
          delivered: num(await cell('delivered')),
        },
        day,
      ).toEqual(x);
      const group = page.locator(`svg.chart g.day[data-day="${day}"]`);
      const total = x.archived + x.partial + x.failed;
      const foundLabel = group.locator('text[data-series="found"]');
      const deliveredLabel = group.locator('text[data-series="delivered"]');
      if (total > 0) {
        nonEmptyDays++;
        expect(num(await foundLabel.textContent()), day).toBe(total);
      } else expect(await foundLabel.count(), day).toBe(0);
      if (x.delivered > 0) expect(num(await deliveredLabel.textContent()), day).toBe(x.delivered);
      else expect(await deliveredLabel.count(), day).toBe(0);
      expect(await group.locator('title').textContent(), day).toContain(
        `: ${x.archived} archived, ${x.partial} partially archived, ${x.failed} failed; ${x.delivered} delivered to mailboxes`,
      );
    }
    expect(nonEmptyDays).toBeGreaterThan(1);
    const totals = [...expected.values()].reduce(
      (s, x) => ({
        archived: s.archived + x.archived,
        partial: s.partial + x.partial,
        failed: s.failed + x.failed,
        delivered: s.delivered + x.delivered,
      }),
      { archived: 0, partial: 0, failed: 0, delivered: 0 },
    );
    expect(totals.failed).toBe(1);
    expect(totals.delivered).toBe(6);
    expect(num(await page.locator('tfoot td[data-col="archived"]').textContent())).toBe(totals.archived);
    expect(num(await page.locator('tfoot td[data-col="delivered"]').textContent())).toBe(totals.delivered);
    await page.close();
  });

  it('sends the strict headers, loads nothing but itself, and its one style block is allowed by hash', async () => {
    const { page, headers } = await open('/api/status');
    expect(headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = headers['content-security-policy'] ?? '';
    for (const d of [
      "default-src 'none'",
      'img-src data:',
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ])
      expect(csp).toContain(d);
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(requests).toEqual([`${origin}/api/status`]);
    // The style block applied (a blocked one would leave the browser's defaults and a console error).
    expect(
      await page
        .locator('.health')
        .evaluate((e) => e.ownerDocument.defaultView!.getComputedStyle(e).borderTopWidth),
    ).toBe('2px');
    expect(await page.locator('svg.chart').evaluate((e) => e.getBoundingClientRect().width)).toBeGreaterThan(
      400,
    );
    expect(consoleProblems).toEqual([]);
    // The hostile reason is shown as text: no element, no request for /beacon.
    expect(await page.locator('img').count()).toBe(0);
    await expect.poll(() => page.getByText(HOSTILE_REASON).count()).toBe(1);
    await page.close();
  });

  it('is readable without sight: language, headings, scoped headers, a chart with a text alternative', async () => {
    const { page } = await open('/api/status');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.locator('h1').count()).toBe(1);
    expect(await page.locator('h2').allTextContents()).toEqual([
      'Connector properties',
      'Status with source',
      'Last 30 days',
      'Download log',
    ]);
    expect(await page.locator('th:not([scope])').count()).toBe(0);
    const svg = page.locator('svg.chart');
    expect(await svg.getAttribute('role')).toBe('img');
    const [titleId, descId] = (await svg.getAttribute('aria-labelledby'))!.split(' ');
    expect(await page.locator(`svg.chart > title#${titleId}`).textContent()).toMatch(/last 30 days/);
    const total = [...expected.values()].reduce((s, x) => s + x.archived, 0);
    expect(await page.locator(`svg.chart > desc#${descId}`).textContent()).toContain(
      `${total} items archived`,
    );
    const name = await svg.evaluate((e) => e.getAttribute('aria-labelledby'));
    expect(name).toBe('chart-title chart-desc');
    expect(await page.getByText('Partially archived (hatched)').count()).toBe(1);
    for (const id of ['dl-from', 'dl-to', 'dl-format'])
      expect(await page.locator(`label[for="${id}"]`).count(), id).toBe(1);
    await page.close();
  });

  it('shows the failures of the last 24 hours with their reasons', async () => {
    const { page } = await open('/api/status');
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toMatch(/Archive failures: 1/);
    expect(text).toMatch(/Mailbox delivery failures: 1/);
    expect(text).toContain('Graph 404 MailboxNotEnabledForRESTAPI');
    expect(text).toContain("the table's own timestamp");
    expect(await page.locator('.health.attention li').allTextContents()).toEqual(
      expect.arrayContaining([
        expect.stringContaining('1 archive failure(s)'),
        expect.stringContaining('1 mailbox delivery failure(s)'),
      ]),
    );
    const run = await p.runtime.lastDiscoveryRun();
    expect(text).toContain(`${run!.found} found, ${run!.enqueued} queued for archiving`);
    expect(await page.locator('dt:text-is("LivePerson account") + dd').textContent()).toBe(
      p.sandbox.accountId,
    );
    await page.close();
  });

  it('downloads the log from a ready link and the summary from the date form, both CSV with a header', async () => {
    const { page } = await open('/api/status');
    const last30 = page.locator('li', { hasText: 'Last 30 days' });
    const [logDownload] = await Promise.all([
      page.waitForEvent('download'),
      last30.getByRole('link', { name: 'Download log (CSV)' }).click(),
    ]);
    const log = parse(readFileSync((await logDownload.path())!, 'utf8').replace(/^\uFEFF/, ''), {
      columns: true,
    }) as Record<string, string>[];
    expect(Object.keys(log[0]!).slice(0, 4)).toEqual(['day', 'conversationId', 'version', 'status']);
    expect(log.filter((r) => r.deliveryStatus === 'delivered')).toHaveLength(6);

    await page.fill('#dl-from', from);
    await page.fill('#dl-to', to);
    const [summaryDownload] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download summary' }).click(),
    ]);
    const summary = parse(readFileSync((await summaryDownload.path())!, 'utf8').replace(/^\uFEFF/, ''), {
      columns: true,
    }) as Record<string, string>[];
    expect(Object.keys(summary[0]!)[0]).toBe('day');
    expect(summary).toHaveLength(30);
    const sum = (k: string) => summary.reduce((s, r) => s + Number(r[k]), 0);
    const exp = [...expected.values()];
    expect(sum('itemsArchived')).toBe(exp.reduce((s, x) => s + x.archived, 0));
    expect(sum('itemsFailed')).toBe(1);
    expect(sum('itemsImported')).toBe(6);
    expect(requests.every((u) => u.startsWith(`${origin}/api/log`) || u === `${origin}/api/status`)).toBe(
      true,
    );
    expect(requests.some((u) => u.startsWith(`${origin}/api/log/summary?from=${from}&to=${to}`))).toBe(true);
    await page.close();
  });

  it('through the key door, every link and the form go back through /api/automation with the key', async () => {
    const { page } = await open('/api/automation/status?code=test-key');
    const hrefs = await page
      .locator('section.downloads a')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
    expect(hrefs.length).toBe(9);
    for (const h of hrefs) expect(h).toMatch(/^\/api\/automation\/log(?:\/summary)?\?.*&code=test-key$/);
    expect(await page.locator('form.range').getAttribute('action')).toBe('/api/automation/log');
    expect(await page.locator('form.range input[name="code"]').getAttribute('value')).toBe('test-key');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('li', { hasText: 'Today' }).getByRole('link', { name: 'Download summary (CSV)' }).click(),
    ]);
    const csv = readFileSync((await download.path())!, 'utf8').replace(/^\uFEFF/, '');
    expect(csv.split('\r\n')[0]).toMatch(/^day,itemsFoundAtSource,itemsArchived/);
    expect(new URL(download.url()).pathname).toBe('/api/automation/log/summary');
    expect(new URL(download.url()).searchParams.get('code')).toBe('test-key');
    // The form (a navigation, so it passes the request interception) carries the key too.
    const [formDownload] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download log', exact: true }).click(),
    ]);
    const submitted = new URL(requests.at(-1)!);
    expect(submitted.pathname).toBe('/api/automation/log');
    expect(Object.fromEntries(submitted.searchParams)).toEqual({ from, to, format: 'csv', code: 'test-key' });
    const logCsv = readFileSync((await formDownload.path())!, 'utf8').replace(/^\uFEFF/, '');
    expect(logCsv.split('\r\n')[0]).toMatch(/^day,conversationId,version,status/);
    expect(consoleProblems).toEqual([]);
    await page.close();
  });
});
