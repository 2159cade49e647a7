/**
 * The 30-day chart as inline SVG, drawn on the server: no script, no external file, nothing a strict
 * Content-Security-Policy blocks. Two panels share the day axis: archive outcomes stacked per day
 * (archived solid, partially archived hatched, failed cross-hatched) with each day's total written above
 * its bar, and deliveries to mailboxes below with their numbers. Colour is never the only cue: patterns, a
 * legend with words, and direct labels. Screen readers get `role="img"` with a <title> and a <desc>
 * summarising the figures; the table beside the chart holds every number.
 *
 * Hand-drawn rather than a chart library: the libraries that render SVG on a server need a DOM or a canvas
 * for text measurement, or inject inline styles a hash-based CSP refuses; 30 bars need none of that.
 */
import { type HtmlPart, html, num, SafeHtml } from './html.js';
import type { DayCounts } from './model.js';

// Drawn at about the size it is shown beside the table, so 11-12 px text stays 11-12 px on screen.
const W = 860;
const LEFT = 48;
const RIGHT = 8;
const PLOT_W = W - LEFT - RIGHT;
const ARCHIVE = { top: 68, height: 250 };
const DELIVERY = { top: 374, height: 130 };
const AXIS_Y = DELIVERY.top + DELIVERY.height;
const H = AXIS_Y + 40;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The smallest 1, 2 or 5 × 10^k at or above n (at least 1): a readable top for the axis. */
export function niceMax(n: number): number {
  if (n <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/** "3 Dec 2026" */
export function longDay(day: string): string {
  return `${Number(day.slice(8, 10))} ${MONTHS[Number(day.slice(5, 7)) - 1]} ${day.slice(0, 4)}`;
}

const found = (d: DayCounts) => d.archived + d.partial + d.failed;

function dayTitle(d: DayCounts, withDelivery: boolean): string {
  const parts = [
    `${num(d.archived)} archived`,
    `${num(d.partial)} partially archived`,
    `${num(d.failed)} failed`,
  ];
  const delivered = withDelivery ? `; ${num(d.delivered)} delivered to mailboxes` : '';
  return `${longDay(d.day)}: ${parts.join(', ')}${delivered}`;
}

/** A one-paragraph summary of the figures, for the chart's <desc>. */
export function chartSummary(days: DayCounts[], withDelivery: boolean): string {
  const total = (k: keyof Omit<DayCounts, 'day'>) => days.reduce((s, d) => s + d[k], 0);
  const first = days[0]?.day;
  const last = days[days.length - 1]?.day;
  if (!first || !last) return 'No days to show.';
  const busiest = days.reduce((b, d) => (found(d) > found(b) ? d : b), days[0]!);
  const all = total('archived') + total('partial') + total('failed');
  const head = `From ${longDay(first)} to ${longDay(last)}: ${num(total('archived'))} items archived, ${num(total('partial'))} partially archived, ${num(total('failed'))} failed`;
  const delivered = withDelivery ? `; ${num(total('delivered'))} delivered to mailboxes` : '';
  const peak =
    all > 0 ? ` The busiest day was ${longDay(busiest.day)} with ${num(found(busiest))} items.` : '';
  return `${head}${delivered}.${peak} The table beside the chart lists every day.`;
}

function yAxis(top: number, height: number, max: number, label: string): SafeHtml {
  const ticks = [0, max / 2, max].filter((t, i, a) => Number.isInteger(t) && a.indexOf(t) === i);
  return html`<g class="axis">
<text class="panel" x="${LEFT}" y="${top - 14}">${label}</text>
${ticks.map((t) => {
  const y = top + height - (t / max) * height;
  return html`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y}" y2="${y}" class="${t === 0 ? 'base' : 'grid'}"/><text class="tick" x="${LEFT - 6}" y="${y + 4}" text-anchor="end">${num(t)}</text>
`;
})}</g>`;
}

function legend(withDelivery: boolean): SafeHtml {
  const entries: [string, string][] = [
    ['archived', 'Archived'],
    ['partial', 'Partially archived (hatched)'],
    ['failed', 'Failed (cross-hatched)'],
  ];
  if (withDelivery) entries.push(['delivered', 'Delivered to mailboxes']);
  let x = LEFT;
  const items: HtmlPart[] = [];
  for (const [key, text] of entries) {
    items.push(
      html`<rect x="${x}" y="8" width="14" height="14" class="s-${key}"/><text class="legend" x="${x + 20}" y="19">${text}</text>`,
    );
    x += 34 + text.length * 7;
  }
  return html`<g class="legend">${items}</g>`;
}

/** Patterns for the series (ids are local to the page: it holds one chart). */
const DEFS = new SafeHtml(`<defs>
<pattern id="p-partial" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="pf-partial"/><line x1="0" y1="0" x2="0" y2="6" class="pl-partial"/></pattern>
<pattern id="p-failed" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" class="pf-failed"/><path d="M0 0L6 6M6 0L0 6" class="pl-failed"/></pattern>
</defs>`);

export function renderDailyChart(days: DayCounts[], opts: { withDelivery: boolean }): SafeHtml {
  const slot = PLOT_W / Math.max(days.length, 1);
  const barW = Math.max(2, Math.min(24, slot * 0.7));
  const archiveMax = niceMax(Math.max(0, ...days.map(found)));
  const deliveryMax = niceMax(Math.max(0, ...days.map((d) => d.delivered)));
  const empty = days.every((d) => found(d) === 0 && d.delivered === 0);
  const h = (n: number, max: number, height: number) => (n / max) * height;
  const label = (n: number) => (String(n).length > 4 ? 'v small' : 'v');

  const bars = days.map((d, i) => {
    const x = LEFT + i * slot + (slot - barW) / 2;
    const cx = x + barW / 2;
    const base = ARCHIVE.top + ARCHIVE.height;
    const segs: HtmlPart[] = [];
    let y = base;
    for (const [key, n] of [
      ['archived', d.archived],
      ['partial', d.partial],
      ['failed', d.failed],
    ] as const) {
      if (n === 0) continue;
      const hh = h(n, archiveMax, ARCHIVE.height);
      y -= hh;
      segs.push(
        html`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${hh.toFixed(1)}" class="s-${key}"/>`,
      );
    }
    const total = found(d);
    const dBase = DELIVERY.top + DELIVERY.height;
    const dh = h(d.delivered, deliveryMax, DELIVERY.height);
    const dom = Number(d.day.slice(8, 10));
    const showMonth = i === 0 || dom === 1;
    return html`<g class="day" data-day="${d.day}"><title>${dayTitle(d, opts.withDelivery)}</title>
${segs}${total > 0 ? html`<text class="${label(total)}" x="${cx.toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" data-series="found">${num(total)}</text>` : ''}
${
  opts.withDelivery && d.delivered > 0
    ? html`<rect x="${x.toFixed(1)}" y="${(dBase - dh).toFixed(1)}" width="${barW.toFixed(1)}" height="${dh.toFixed(1)}" class="s-delivered"/><text class="${label(d.delivered)}" x="${cx.toFixed(1)}" y="${(dBase - dh - 4).toFixed(1)}" text-anchor="middle" data-series="delivered">${num(d.delivered)}</text>`
    : ''
}
<text class="tick" x="${cx.toFixed(1)}" y="${AXIS_Y + 16}" text-anchor="middle">${dom}</text>${
      showMonth
        ? html`<text class="tick month" x="${(LEFT + i * slot).toFixed(1)}" y="${AXIS_Y + 32}">${MONTHS[Number(d.day.slice(5, 7)) - 1]} ${d.day.slice(0, 4)}</text>`
        : ''
    }</g>
`;
  });

  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">
<title id="chart-title">Items per conversation start day, last ${days.length} days</title>
<desc id="chart-desc">${chartSummary(days, opts.withDelivery)}</desc>
${DEFS}
${legend(opts.withDelivery)}
${yAxis(ARCHIVE.top, ARCHIVE.height, archiveMax, 'Items archived, partially archived and failed (total above each bar)')}
${opts.withDelivery ? yAxis(DELIVERY.top, DELIVERY.height, deliveryMax, 'Items delivered to mailboxes') : html`<text class="panel" x="${LEFT}" y="${DELIVERY.top + DELIVERY.height / 2}">Mailbox delivery is off: nothing is delivered to mailboxes.</text>`}
${bars}
${empty ? html`<text class="empty" x="${LEFT + PLOT_W / 2}" y="${ARCHIVE.top + ARCHIVE.height / 2}" text-anchor="middle">No items in these ${days.length} days</text>` : ''}
</svg>`;
}
