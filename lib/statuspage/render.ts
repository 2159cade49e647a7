/**
 * The status page: ConnectorStatus → one self-contained HTML document. Pure (no I/O, no clock): the
 * same model gives the same bytes. No script, no external file; one <style> block whose hash the
 * Content-Security-Policy names (lib/statuspage/page.ts). Every value from the data goes through the
 * escaping `html` template.
 */
import { chartSummary, renderDailyChart } from './chart.js';
import { duration, type HtmlPart, html, num, SafeHtml, utcMinute } from './html.js';
import type { ConnectorStatus, DayCounts, QueueDepth } from './model.js';

/** Where the page's download links and form point: the same door the page was opened through. */
export interface DownloadLinks {
  /** e.g. /api/log or /api/automation/log */
  log: string;
  /** e.g. /api/log/summary */
  summary: string;
  /** Query parameters every link carries (the function key `code` on the key door). */
  carry: Record<string, string>;
  /** Said under the links (e.g. that they carry no key). */
  notice?: string;
}

export const STATUS_PAGE_STYLE = `
:root{color-scheme:light;--ink:#1a202c;--muted:#4a5568;--line:#cbd5e0;--bg:#fff;--panel:#f7fafc;
--archived:#2b6cb0;--partial:#b7791f;--failed:#c53030;--delivered:#2c7a7b;--ok:#276749;--warn:#9c4221}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif;color:var(--ink);background:var(--bg)}
header,main,footer{max-width:1400px;margin:0 auto;padding:0 24px}
header{padding-top:16px;border-bottom:1px solid var(--line)}
h1{font-size:1.5rem;margin:0 0 4px}
h2{font-size:1.2rem;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:18px 0 6px}
p{margin:6px 0}
.muted,.note{color:var(--muted)}
.note{font-size:.9rem}
.health{margin:12px 0;padding:10px 14px;border:2px solid var(--ok);border-radius:6px;background:#f0fff4}
.health.attention{border-color:var(--warn);background:#fffaf0}
.health strong{font-size:1.05rem}
.health ul{margin:6px 0 0;padding-left:22px}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:8px 32px}
dl.props{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dl.props dt{font-weight:600}
dl.props dd{margin:0;overflow-wrap:anywhere}
code{font:13px/1.3 ui-monospace,"DejaVu Sans Mono",Consolas,monospace;background:var(--panel);padding:1px 4px;border-radius:3px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:4px 0}
caption .note{font-weight:normal;display:block;width:0;min-width:100%}
th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid var(--muted)}
td.n,th.n{text-align:right}
tfoot th,tfoot td{border-top:2px solid var(--muted);font-weight:600}
tr.zero td{color:var(--muted)}
.flag{font-weight:600;color:var(--warn)}
.history{display:grid;grid-template-columns:minmax(0,1fr) auto;gap:24px;align-items:start}
.history figure{position:sticky;top:8px}
.history .tablewrap{overflow-x:auto}
table.days th[scope=row]{white-space:nowrap;font-weight:normal}
table.days{font-size:.875rem}
table.days th,table.days td{padding:2px 6px}
table.days thead th{vertical-align:bottom}
@media (max-width:1100px){.history{grid-template-columns:minmax(0,1fr)}.history figure{position:static}}
figure{margin:0}
figcaption{font-size:.9rem;color:var(--muted);margin-top:4px}
svg.chart{width:100%;height:auto;display:block;background:var(--bg)}
svg.chart text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif;fill:var(--ink)}
svg.chart text.tick{fill:var(--muted);font-size:11px}
svg.chart text.month{font-weight:600}
svg.chart text.panel{font-weight:600}
svg.chart text.v{font-size:11px;font-weight:600}
svg.chart text.small{font-size:9px}
svg.chart text.empty{font-size:16px;fill:var(--muted)}
svg.chart line.grid{stroke:var(--line);stroke-dasharray:3 3}
svg.chart line.base{stroke:var(--muted)}
.s-archived{fill:var(--archived)}
.s-partial{fill:url(#p-partial);stroke:var(--partial)}
.s-failed{fill:url(#p-failed);stroke:var(--failed)}
.s-delivered{fill:var(--delivered)}
.pf-partial{fill:#fefcbf}.pl-partial{stroke:var(--partial);stroke-width:3}
.pf-failed{fill:#fed7d7}.pl-failed{stroke:var(--failed);stroke-width:1.5}
.downloads ul{padding-left:22px}
form.range{display:flex;flex-wrap:wrap;gap:10px 16px;align-items:end;padding:12px;background:var(--panel);border:1px solid var(--line);border-radius:6px;max-width:900px}
form.range label{display:flex;flex-direction:column;font-weight:600;font-size:.9rem}
form.range input,form.range select,form.range button{font:inherit;padding:4px 8px}
form.range button{cursor:pointer}
a{color:#2b5797}
a:focus,button:focus,input:focus,select:focus{outline:3px solid #f6ad55;outline-offset:2px}
footer{margin-top:32px;padding:12px 24px 24px;border-top:1px solid var(--line);color:var(--muted);font-size:.85rem}
`;

const STYLE = new SafeHtml(STATUS_PAGE_STYLE);

const QUEUE_PURPOSE: Record<QueueDepth['role'], string> = {
  archive: 'Conversations waiting to be archived',
  'archive-poison': 'Archive messages that failed every attempt (recorded as failed, then removed)',
  'delivery-plan': 'Archived items waiting for their mailboxes to be worked out',
  'delivery-plan-poison': 'Delivery plans that failed every attempt',
  delivery: 'Mailbox deliveries waiting (or waiting out a Retry-After)',
  'delivery-poison': 'Mailbox deliveries that failed every attempt',
};

function href(path: string, links: DownloadLinks, params: Record<string, string>): string {
  const q = new URLSearchParams({ ...params, ...links.carry });
  return `${path}?${q.toString()}`;
}

/** What an admin should look at first, in words (also drives the page's headline). */
export function attentionItems(s: ConnectorStatus): string[] {
  const out: string[] = [];
  const d = s.discovery;
  if (d.error) out.push(`The discovery state could not be read (${d.error}).`);
  if (d.lastRun?.error)
    out.push(`The last discovery run (${utcMinute(d.lastRun.startedAt)}) failed: ${d.lastRun.error}`);
  if (d.overdue && d.lastRun)
    out.push(
      `Discovery has not run since ${utcMinute(d.lastRun.startedAt)}, although it is scheduled more often.`,
    );
  for (const q of s.queues) {
    if (q.error) out.push(`Queue ${q.name} could not be read (${q.error}).`);
    else if (q.role.endsWith('-poison') && (q.approximateMessages ?? 0) > 0)
      out.push(
        `${num(q.approximateMessages ?? 0)} message(s) in the poison queue ${q.name}: they are recorded as failed by the app; if the number stays, that function is not running.`,
      );
  }
  const f = s.history.failures;
  if (f.archive.count) out.push(`${num(f.archive.count)} archive failure(s) recorded in the last 24 hours.`);
  if (f.delivery.count)
    out.push(`${num(f.delivery.count)} mailbox delivery failure(s) recorded in the last 24 hours.`);
  if (f.unmapped.count)
    out.push(`${num(f.unmapped.count)} item(s) with no mailbox to deliver to in the last 24 hours.`);
  if (s.history.error) out.push(`The status table could not be read: ${s.history.error}`);
  return out;
}

function healthBlock(s: ConnectorStatus): SafeHtml {
  const items = attentionItems(s);
  if (!items.length)
    return html`<div class="health" role="status"><strong>✓ No problems found.</strong> Discovery, queues and the last 24 hours look normal.</div>`;
  return html`<div class="health attention" role="status"><strong>⚠ ${items.length === 1 ? '1 thing needs' : `${items.length} things need`} attention:</strong>
<ul>${items.map((i) => html`<li>${i}</li>`)}</ul></div>`;
}

function propertiesBlock(s: ConnectorStatus): SafeHtml {
  const p = s.properties;
  const dv = p.delivery;
  const next = p.nextDiscoveryRuns.length
    ? html` <span class="muted">(next runs ${p.nextDiscoveryRuns.map((r, i) => html`${i ? ', ' : ''}<time datetime="${r}">${utcMinute(r)}</time>`)})</span>`
    : '';
  const mapping = dv.enabled
    ? html`automatic (participants' e-mail addresses resolved in the tenant${dv.tenantDomains.length ? html`, domains ${dv.tenantDomains.join(', ')}` : ''}; consumers ${dv.deliverToConsumers ? 'included' : 'not included'})${dv.mappingFile ? html`, overridden by the mapping file <code>${dv.mappingFile}</code>` : ''}${dv.fallbackMailbox ? html`; items with no mailbox go to <code>${dv.fallbackMailbox}</code>` : html`; items with no mailbox are logged <em>unmapped</em>`}`
    : html`off: mailbox delivery is off (no Microsoft Graph settings), items stay in the archive`;
  return html`<dl class="props">
<dt>LivePerson account</dt><dd><code>${p.accountId}</code></dd>
<dt>Discovery schedule</dt><dd><code>${p.discoverySchedule}</code> (NCRONTAB, UTC)${next}</dd>
<dt>Discovery window</dt><dd>overlap ${num(p.overlapMinutes)} min; first run looks back ${num(p.backfillDays)} days</dd>
<dt>Mailbox folder</dt><dd>Inbox › ${p.mailboxFolder}</dd>
<dt>Mailbox mapping</dt><dd>${mapping}</dd>
<dt>Import mode</dt><dd>${dv.enabled ? (dv.importMode === 'importMime' ? 'importMime (the .eml as is, Microsoft Graph)' : 'json (message parts through Microsoft Graph)') : 'none (delivery off)'}</dd>
<dt>App version</dt><dd>liveperson-archiver ${p.appVersion}</dd>
</dl>`;
}

function discoveryBlock(s: ConnectorStatus): SafeHtml {
  const d = s.discovery;
  const run = d.lastRun;
  const runText = !run
    ? html`<p>Discovery has not run yet${d.error ? ' (or its record could not be read)' : ''}: the first run looks back ${num(s.properties.backfillDays)} days.</p>`
    : run.error
      ? html`<p><span class="flag">Failed.</span> The last run started <time datetime="${run.startedAt}">${utcMinute(run.startedAt)}</time> and failed after ${duration(Date.parse(run.finishedAt) - Date.parse(run.startedAt))}: <code>${run.error}</code>. The watermark did not move; the next run repeats the window.</p>`
      : html`<p>The last run started <time datetime="${run.startedAt}">${utcMinute(run.startedAt)}</time> (${duration(Date.parse(s.generatedAt) - Date.parse(run.startedAt))} ago) and took ${duration(Date.parse(run.finishedAt) - Date.parse(run.startedAt))}. It searched conversations updated from <time datetime="${run.from}">${utcMinute(run.from)}</time> to <time datetime="${run.to}">${utcMinute(run.to)}</time>: <strong>${num(run.found)}</strong> found, <strong>${num(run.enqueued)}</strong> queued for archiving, ${num(run.open)} still open (archived once closed)${run.unreadable ? html`, <span class="flag">${num(run.unreadable)} unreadable</span>` : ''}.</p>`;
  const mark =
    d.watermark !== undefined
      ? html`<p>Watermark: every conversation updated before <time datetime="${d.watermark}">${utcMinute(d.watermark)}</time> has been queued; that is ${duration(d.watermarkLagMs ?? 0)} behind now. Each run searches again from ${num(s.properties.overlapMinutes)} minutes before it.</p>`
      : html`<p>No watermark yet: no discovery run has completed.</p>`;
  return html`${runText}${mark}${d.overdue ? html`<p class="flag">Discovery is overdue: it has not run for more than three schedule intervals.</p>` : ''}${d.error ? html`<p class="flag">Could not read: ${d.error}</p>` : ''}`;
}

function queuesBlock(s: ConnectorStatus): SafeHtml {
  const deliveryOff = !s.properties.delivery.enabled;
  return html`<table>
<caption>Messages waiting (Azure's approximate counts)</caption>
<thead><tr><th scope="col">Queue</th><th scope="col">What waits there</th><th scope="col" class="n">Messages</th></tr></thead>
<tbody>${s.queues.map(
    (q) =>
      html`<tr><th scope="row"><code>${q.name}</code></th><td>${QUEUE_PURPOSE[q.role]}</td><td class="n">${
        q.error
          ? html`<span class="flag">could not be read: ${q.error}</span>`
          : !q.exists
            ? html`<span class="muted">0 (not created yet)</span>`
            : q.role.endsWith('-poison') && (q.approximateMessages ?? 0) > 0
              ? html`<span class="flag">⚠ ${num(q.approximateMessages ?? 0)}</span>`
              : num(q.approximateMessages ?? 0)
      }</td></tr>`,
  )}</tbody></table>${deliveryOff ? html`<p class="note">Mailbox delivery is off, so its queues are not listed.</p>` : ''}`;
}

function reasonsList(
  title: string,
  kind: { count: number; topReasons: { reason: string; count: number }[] },
) {
  return html`<h4>${title}: ${num(kind.count)}</h4>${
    kind.count
      ? html`<table><thead><tr><th scope="col" class="n">Items</th><th scope="col">Reason</th></tr></thead><tbody>${kind.topReasons.map(
          (r) => html`<tr><td class="n">${num(r.count)}</td><td>${r.reason}</td></tr>`,
        )}</tbody></table>`
      : html`<p class="muted">None.</p>`
  }`;
}

function failuresBlock(s: ConnectorStatus): SafeHtml {
  const f = s.history.failures;
  return html`<p class="note">Counted from the status table's rows of conversations that started in the last ${s.history.days.length} days, for failures recorded since <time datetime="${f.since}">${utcMinute(f.since)}</time>: an archive failure by when its row was last written (the table's own timestamp), a delivery failure by its delivery time. Failures of older conversations (a backfill) are in the downloaded log only.</p>
<div class="grid2"><div>${reasonsList('Archive failures', f.archive)}</div><div>${
    s.properties.delivery.enabled || f.delivery.count || f.unmapped.count
      ? html`${reasonsList('Mailbox delivery failures', f.delivery)}${reasonsList('Items with no mailbox (unmapped)', f.unmapped)}`
      : html`<h4>Mailbox delivery</h4><p class="muted">Off: nothing is delivered, so nothing can fail.</p>`
  }</div></div>`;
}

function historyTable(days: DayCounts[], withDelivery: boolean, deliveryOn: boolean): SafeHtml {
  const total = (k: keyof Omit<DayCounts, 'day'>) => days.reduce((s, d) => s + d[k], 0);
  // Short headings keep the table narrow beside the chart; the caption says what they count.
  const cols: [keyof Omit<DayCounts, 'day'>, string][] = [
    ['archived', 'Archived'],
    ['partial', 'Partial'],
    ['failed', 'Failed'],
    ...(withDelivery
      ? ([
          ['delivered', 'Delivered'],
          ['deliveryFailed', 'Delivery failed'],
          ['deliveryPending', deliveryOn ? 'Waiting' : 'Not delivered'],
        ] as [keyof Omit<DayCounts, 'day'>, string][])
      : []),
  ];
  return html`<table class="days" id="history-table">
<caption>Items per conversation start day (UTC), newest first${
    withDelivery
      ? html`<span class="note">Partial: partially archived. Delivered, delivery failed (unmapped included) and ${deliveryOn ? 'waiting' : 'not delivered (delivery is off)'}: one per item and mailbox.</span>`
      : ''
  }</caption>
<thead><tr><th scope="col">Day</th>${cols.map(([k, t]) => html`<th scope="col" class="n" data-col="${k}">${t}</th>`)}</tr></thead>
<tbody>${[...days].reverse().map((d) => {
    const zero = cols.every(([k]) => d[k] === 0);
    return html`<tr data-day="${d.day}"${zero ? html` class="zero"` : ''}><th scope="row"><time datetime="${d.day}">${d.day}</time></th>${cols.map(
      ([k]) => html`<td class="n" data-col="${k}">${num(d[k])}</td>`,
    )}</tr>`;
  })}</tbody>
<tfoot><tr><th scope="row">Total</th>${cols.map(([k]) => html`<td class="n" data-col="${k}">${num(total(k))}</td>`)}</tr></tfoot>
</table>`;
}

function historyBlock(s: ConnectorStatus): SafeHtml {
  const h = s.history;
  if (h.error)
    return html`<p class="flag">The status table could not be read to the end (${h.error}), so no figures are shown: partial counts would mislead. Reload the page, or download the log below.</p>`;
  const hasDeliveries = h.days.some((d) => d.delivered || d.deliveryFailed || d.deliverySkipped);
  const withDelivery = s.properties.delivery.enabled || hasDeliveries;
  const duplicates = h.days.reduce((n, d) => n + d.duplicates, 0);
  return html`<p class="note">Days are conversation start days in UTC (the status table's day, as in the downloaded log and summary); each conversation version counts once. ${
    withDelivery
      ? 'Deliveries count one per item and mailbox.'
      : 'Mailbox delivery is off, so no delivery figures are shown.'
  }${duplicates ? ` ${num(duplicates)} repeated hand-overs were skipped as duplicates (nothing stored twice).` : ''}${
    h.unreadableRows
      ? html` <span class="flag">${num(h.unreadableRows)} unreadable row(s) were left out.</span>`
      : ''
  }</p>
<div class="history">
<figure>${renderDailyChart(h.days, { withDelivery })}<figcaption>${chartSummary(h.days, withDelivery)}</figcaption></figure>
<div class="tablewrap">${historyTable(h.days, withDelivery, s.properties.delivery.enabled)}</div>
</div>`;
}

function downloadsBlock(s: ConnectorStatus, links: DownloadLinks): SafeHtml {
  const { from, to } = s.history;
  const week = s.history.days.slice(-7)[0]?.day ?? from;
  const ranges: [string, string, string][] = [
    ['Today', to, to],
    ['Last 7 days', week, to],
    [`Last ${s.history.days.length || 30} days`, from, to],
  ];
  const carried: HtmlPart = Object.entries(links.carry).map(
    ([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`,
  );
  return html`<ul>${ranges.map(
    ([label, f, t]) =>
      html`<li>${label} (${f === t ? f : `${f} to ${t}`}): <a href="${href(links.log, links, { from: f, to: t, format: 'csv' })}" download>Download log (CSV)</a> · <a href="${href(links.summary, links, { from: f, to: t, format: 'csv' })}" download>Download summary (CSV)</a> · <a href="${href(links.log, links, { from: f, to: t, format: 'json' })}">log as JSON</a></li>`,
  )}</ul>
<form class="range" method="get" action="${links.log}">
<label for="dl-from">From (conversation start day)<input id="dl-from" name="from" type="date" required value="${from}"></label>
<label for="dl-to">To (inclusive)<input id="dl-to" name="to" type="date" required value="${to}"></label>
<label for="dl-format">Format<select id="dl-format" name="format"><option value="csv" selected>CSV</option><option value="json">JSON</option></select></label>
${carried}
<button type="submit">Download log</button>
<button type="submit" formaction="${links.summary}">Download summary</button>
</form>
${links.notice ? html`<p class="flag">${links.notice}</p>` : ''}
<p class="note">The log has one row per item and mailbox; the summary one row per day in the columns of Microsoft's connector log. A range may span up to 400 days.</p>`;
}

export function renderStatusPage(s: ConnectorStatus, links: DownloadLinks): string {
  const p = s.properties;
  return `<!doctype html>
${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Archive status · LivePerson account ${p.accountId}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>LivePerson Conversational Cloud archive</h1>
<p>Connector status for LivePerson account <code>${p.accountId}</code>, as of <time datetime="${s.generatedAt}">${utcMinute(s.generatedAt)}</time>. Reload the page for fresh figures.</p>
${healthBlock(s)}
</header>
<main>
<section aria-labelledby="h-props"><h2 id="h-props">Connector properties</h2>${propertiesBlock(s)}</section>
<section aria-labelledby="h-state"><h2 id="h-state">Status with source</h2>
<div class="grid2"><div><h3>Discovery</h3>${discoveryBlock(s)}</div><div><h3>Queues</h3>${queuesBlock(s)}</div></div>
<h3>Failures in the last 24 hours</h3>${failuresBlock(s)}
</section>
<section aria-labelledby="h-history"><h2 id="h-history">Last ${s.history.days.length} days</h2>${historyBlock(s)}</section>
<section aria-labelledby="h-downloads" class="downloads"><h2 id="h-downloads">Download log</h2>${downloadsBlock(s, links)}</section>
</main>
<footer>liveperson-archiver ${p.appVersion} · generated ${utcMinute(s.generatedAt)} · all times UTC</footer>
</body>
</html>
`}`;
}
