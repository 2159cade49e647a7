/**
 * One streamed pass over the status table's rows of the last 30 days: per-day counts (through the log
 * summary's own `summarize`, so the page and the downloaded summary can never disagree) and the failures
 * recorded in the last 24 hours with their top reasons. Holds one conversation's rows, one day's
 * counters and the bounded reason counters at a time, never the table.
 *
 * "Recorded in the last 24 hours" is read from the rows themselves: an archive failure by the time its row
 * was last written (the table's own Timestamp, set by the storage service on every write), a delivery
 * failure or unmapped item by its delivery time. Only rows of conversations that started in the scanned
 * days are seen: a failure of an older conversation (a backfill) is in the downloaded log, not here.
 */
import { summarize } from '../statuslog/log-export.js';
import { type JoinedItem, joinedItems, type RawEntity } from '../statuslog/log-rows.js';
import type { DayCounts, History } from './model.js';
import { TopReasons } from './top-reasons.js';

export const DAY_MS = 86_400_000;
const TOP_REASONS_SHOWN = 5;

export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The page's window: the last `days` UTC days, today included. */
export function historyWindow(now: number, days = 30): { from: string; to: string } {
  return { from: dayOf(now - (days - 1) * DAY_MS), to: dayOf(now) };
}

export async function scanHistory(
  entities: AsyncIterable<RawEntity>,
  opts: { from: string; to: string; now: number },
): Promise<History> {
  const since = opts.now - DAY_MS;
  const archive = new TopReasons();
  const delivery = new TopReasons();
  const unmapped = new TopReasons();
  let unreadableRows = 0;
  const recent = (iso: unknown) => {
    const t = typeof iso === 'string' ? Date.parse(iso) : Number.NaN;
    return Number.isFinite(t) && t >= since;
  };
  async function* noteFailures(items: AsyncIterable<JoinedItem>): AsyncGenerator<JoinedItem> {
    for await (const j of items) {
      // `timestamp` is the service's last-modified time (kept by the row schema's loose parse).
      if (j.item.status === 'failed' && recent(j.item.timestamp)) archive.add(j.item.reason);
      for (const d of j.deliveries) {
        if (!recent(d.deliveryTime)) continue;
        if (d.deliveryStatus === 'failed') delivery.add(d.deliveryReason);
        else if (d.deliveryStatus === 'unmapped') unmapped.add(d.deliveryReason);
      }
      yield j;
    }
  }
  const days: DayCounts[] = [];
  let error: string | undefined;
  try {
    const items = joinedItems(entities, () => {
      unreadableRows++;
    });
    for await (const d of summarize(noteFailures(items), { from: opts.from, to: opts.to, today: opts.to }))
      days.push({
        day: d.day,
        archived: d.itemsArchived,
        partial: d.itemsPartiallyArchived,
        failed: d.itemsFailed,
        duplicates: d.itemsSkippedDuplicates,
        delivered: d.itemsImported + d.itemsPartiallyImported,
        deliveryFailed: d.itemsImportFailed,
        deliverySkipped: d.itemsImportSkipped,
        deliveryPending: d.itemsImportPending,
      });
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  const kind = (r: TopReasons) => ({ count: r.total, topReasons: r.top(TOP_REASONS_SHOWN) });
  return {
    from: opts.from,
    to: opts.to,
    days,
    failures: {
      since: new Date(since).toISOString(),
      archive: kind(archive),
      delivery: kind(delivery),
      unmapped: kind(unmapped),
    },
    unreadableRows,
    ...(error !== undefined ? { error } : {}),
  };
}
