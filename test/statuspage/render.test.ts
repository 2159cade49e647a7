import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startBanner } from '../../dev/host/start-banner.js';
import { chartSummary, niceMax } from '../../lib/statuspage/chart.js';
import { duration } from '../../lib/statuspage/html.js';
import { doorLinks, STATUS_PAGE_CSP, STATUS_PAGE_HEADERS } from '../../lib/statuspage/page.js';
import { nextRuns } from '../../lib/statuspage/properties.js';
import { attentionItems, renderStatusPage } from '../../lib/statuspage/render.js';
import { OTHER_REASONS, TopReasons } from '../../lib/statuspage/top-reasons.js';
import { sampleDays, sampleStatus } from './sample-status.js';

const LINKS = { log: '/api/log', summary: '/api/log/summary', carry: {} };
const EVIL = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)>&amp;';

describe('status page renderer', () => {
  it('escapes every value that comes from data or settings', () => {
    const page = renderStatusPage(
      sampleStatus({
        properties: {
          accountId: EVIL,
          discoverySchedule: EVIL,
          mailboxFolder: EVIL,
          appVersion: EVIL,
          delivery: {
            enabled: true,
            importMode: 'importMime',
            mappingFile: EVIL,
            fallbackMailbox: EVIL,
            deliverToConsumers: false,
            tenantDomains: [EVIL],
          },
        },
        discovery: {
          lastRun: {
            startedAt: '2026-12-04T17:00:00.000Z',
            finishedAt: '2026-12-04T17:00:01.000Z',
            from: '2026-12-04T17:00:00.000Z',
            to: '2026-12-04T17:00:00.000Z',
            found: 0,
            enqueued: 0,
            open: 0,
            unreadable: 0,
            error: EVIL,
          },
          error: EVIL,
          overdue: false,
        },
        queues: [{ name: EVIL, role: 'archive', exists: true, error: EVIL }],
        history: {
          failures: {
            since: '2026-12-03T17:02:00.000Z',
            archive: { count: 1, topReasons: [{ reason: EVIL, count: 1 }] },
            delivery: { count: 1, topReasons: [{ reason: EVIL, count: 1 }] },
            unmapped: { count: 1, topReasons: [{ reason: EVIL, count: 1 }] },
          },
        },
      }),
      { log: '/api/automation/log', summary: '/api/automation/log/summary', carry: { code: EVIL } },
    );
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/<img/i);
    expect(page).not.toContain('"\'>');
    expect(page).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;&amp;amp;',
    );
    // The key travels URL-encoded in links and escaped in the form's hidden field.
    expect(page).toContain('code=%3Cscript%3Ealert%281%29');
    expect(page).toContain('<input type="hidden" name="code" value="&lt;script&gt;');
  });

  it('holds one style block whose hash the CSP names, no style attribute, script or external resource', () => {
    const page = renderStatusPage(sampleStatus(), LINKS);
    const styles = [...page.matchAll(/<style>([\s\S]*?)<\/style>/g)];
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256').update(styles[0]![1]!).digest('base64');
    expect(STATUS_PAGE_CSP).toContain(`style-src 'sha256-${hash}'`);
    expect(page).not.toMatch(/\sstyle=/i);
    expect(page).not.toMatch(/<script|\son[a-z]+=/i);
    const urls = [...page.matchAll(/\s(?:href|src|action|formaction)="([^"]*)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThan(5);
    for (const u of urls) expect(u, u).toMatch(/^(?:\/api\/|data:,$|#)/);
    expect(page.match(/https?:\/\/[^\s"<]+/g) ?? []).toEqual(['http://www.w3.org/2000/svg']);
  });

  it('sends the security headers the brief of the page asks for', () => {
    expect(STATUS_PAGE_CSP).toMatch(/^default-src 'none'; /);
    for (const d of ['img-src data:', "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"])
      expect(STATUS_PAGE_CSP).toContain(d);
    expect(STATUS_PAGE_HEADERS).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
  });

  it('is accessible without script: lang, headings, scoped table headers, a chart with a text alternative', () => {
    const page = renderStatusPage(sampleStatus(), LINKS);
    expect(page).toMatch(/<html lang="en">/);
    expect(page.match(/<h1>/g)).toHaveLength(1);
    expect(page).toMatch(/<svg class="chart"[^>]* role="img" aria-labelledby="chart-title chart-desc"/);
    expect(page).toMatch(/<title id="chart-title">[^<]+<\/title>/);
    expect(page).toMatch(
      /<desc id="chart-desc">From \d+ \w+ 2026 to 4 Dec 2026: 465 items archived, 16 partially archived, 1 failed/,
    );
    expect(page).not.toMatch(/<th(?=[\s>])(?![^>]*scope=)[^>]*>/);
    // Colour is never alone: a legend in words and patterns for partial and failed.
    expect(page).toContain('Partially archived (hatched)');
    expect(page).toContain('fill:url(#p-partial)');
    expect(page).toMatch(/<label for="dl-from">/);
  });

  it('shows the chart labels and the table with the same per-day numbers', () => {
    const status = sampleStatus();
    const page = renderStatusPage(status, LINKS);
    for (const d of status.history.days) {
      const total = d.archived + d.partial + d.failed;
      const group = new RegExp(
        `<g class="day" data-day="${d.day}"><title>[^<]*: ${d.archived} archived, ${d.partial} partially archived, ${d.failed} failed</title>[\\s\\S]*?data-series="found">${total}</text>`,
      );
      expect(page).toMatch(group);
      const row = new RegExp(
        `<tr data-day="${d.day}"[^>]*><th scope="row"><time datetime="${d.day}">${d.day}</time></th><td class="n" data-col="archived">${d.archived}</td><td class="n" data-col="partial">${d.partial}</td><td class="n" data-col="failed">${d.failed}</td></tr>`,
      );
      expect(page).toMatch(row);
    }
  });

  it('says plainly when there is nothing yet: no discovery run, an empty table, delivery off', () => {
    const page = renderStatusPage(
      sampleStatus({
        discovery: { lastRun: undefined, watermark: undefined, watermarkLagMs: undefined, overdue: false },
        queues: [],
        history: { days: sampleDays() },
      }),
      LINKS,
    );
    expect(page).toContain('Discovery has not run yet');
    expect(page).toContain('No watermark yet');
    expect(page).toContain('No items in these 30 days');
    expect(page).toContain('Mailbox delivery is off');
    expect(page).toContain('off: mailbox delivery is off');
    expect(page).toContain('✓ No problems found.');
  });

  it('shows no figures, only a sentence, when the status table could not be read to the end', () => {
    const page = renderStatusPage(sampleStatus({ history: { error: 'connect ECONNREFUSED' } }), LINKS);
    expect(page).toContain('could not be read to the end (connect ECONNREFUSED)');
    expect(page).not.toContain('<svg');
    expect(attentionItems(sampleStatus({ history: { error: 'x' } }))).toContain(
      'The status table could not be read: x',
    );
  });

  it('lists what needs attention: a failed run, an overdue schedule, poison messages, recent failures', () => {
    const items = attentionItems(
      sampleStatus({
        discovery: { overdue: true },
        queues: [{ name: 'arc-poison', role: 'archive-poison', exists: true, approximateMessages: 2 }],
        history: {
          failures: {
            since: '2026-12-03T17:02:00.000Z',
            archive: { count: 3, topReasons: [{ reason: 'r', count: 3 }] },
            delivery: { count: 0, topReasons: [] },
            unmapped: { count: 1, topReasons: [{ reason: 'u', count: 1 }] },
          },
        },
      }),
    );
    expect(items.join('\n')).toMatch(/Discovery has not run since 2026-12-04 17:00 UTC/);
    expect(items.join('\n')).toMatch(/2 message\(s\) in the poison queue arc-poison/);
    expect(items.join('\n')).toMatch(/3 archive failure\(s\)/);
    expect(items.join('\n')).toMatch(/1 item\(s\) with no mailbox/);
    expect(items.join('\n')).not.toMatch(/delivery failure/);
  });

  it('points the downloads through the door the page was opened through', () => {
    expect(doorLinks('/api/status', 'sign-in', { code: 'k' })).toEqual({
      log: '/api/log',
      summary: '/api/log/summary',
      carry: {},
    });
    expect(doorLinks('/api/automation/status/', 'key', { code: 'k' })).toEqual({
      log: '/api/automation/log',
      summary: '/api/automation/log/summary',
      carry: { code: 'k' },
    });
    const keyless = doorLinks('/odd', 'key', {});
    expect(keyless).toMatchObject({
      log: '/api/automation/log',
      summary: '/api/automation/log/summary',
      carry: {},
    });
    expect(renderStatusPage(sampleStatus(), keyless)).toContain(
      '<p class="flag">These links carry no function key',
    );
    const page = renderStatusPage(sampleStatus(), {
      log: '/api/automation/log',
      summary: '/api/automation/log/summary',
      carry: { code: 'a b&c' },
    });
    expect(page).toContain(
      'href="/api/automation/log?from=2026-11-05&amp;to=2026-12-04&amp;format=csv&amp;code=a+b%26c"',
    );
    expect(page).toContain('<form class="range" method="get" action="/api/automation/log">');
    expect(page).toContain('formaction="/api/automation/log/summary"');
  });
});

describe('page helpers', () => {
  it('niceMax rounds up to 1, 2 or 5 × 10^k', () => {
    expect([0, 1, 2, 3, 7, 10, 11, 99, 101, 4999].map(niceMax)).toEqual([
      1, 1, 2, 5, 10, 10, 20, 100, 200, 5000,
    ]);
  });
  it('lists the next runs of the NCRONTAB schedule (UTC), none for an unreadable one', () => {
    expect(nextRuns('0 */5 * * * *', Date.parse('2026-12-04T17:02:00Z'))).toEqual([
      '2026-12-04T17:05:00.000Z',
      '2026-12-04T17:10:00.000Z',
    ]);
    expect(nextRuns('not a schedule', 0)).toEqual([]);
  });
  it('durations read as people say them', () => {
    expect([5_000, 240_000, 7_500_000, 3 * 86_400_000 + 4 * 3_600_000].map(duration)).toEqual([
      '5 s',
      '4 min',
      '2 h 5 min',
      '3 d 4 h',
    ]);
  });
  it('chart summary names totals and the busiest day', () => {
    expect(
      chartSummary(
        sampleDays((i) => ({ archived: i === 3 ? 9 : 1, delivered: 2 })),
        true,
      ),
    ).toBe(
      'From 5 Nov 2026 to 4 Dec 2026: 38 items archived, 0 partially archived, 0 failed; 60 delivered to mailboxes. The busiest day was 8 Nov 2026 with 9 items. The table beside the chart lists every day.',
    );
  });
  it('TopReasons keeps at most N reasons apart and counts the rest as other reasons', () => {
    const r = new TopReasons(3);
    for (let i = 0; i < 1000; i++) r.add(`reason ${i % 10}`);
    r.add('  reason   0 ');
    r.add(undefined);
    expect(r.total).toBe(1002);
    const top = r.top(2);
    expect(top).toEqual([
      { reason: 'reason 0', count: 101 },
      { reason: 'reason 1', count: 100 },
      { reason: OTHER_REASONS, count: 801 },
    ]);
    expect((r as unknown as { counts: Map<string, number> }).counts.size).toBe(3);
  });
  it("npm start's banner names the status page", () => {
    const text = startBanner({
      httpUrl: 'http://127.0.0.1:7071',
      storageConnectionString: 'UseDevelopmentStorage=true',
      storageDir: undefined,
      services: [],
      settingsSource: undefined,
      archiveDir: 'archive-local',
      functions: [],
      now: new Date('2026-11-25T12:00:00Z'),
      backfillDays: 30,
    });
    expect(text).toMatch(/^ {2}Status page: +http:\/\/localhost:7071\/api\/status$/m);
  });
});
