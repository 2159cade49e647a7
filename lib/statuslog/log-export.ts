/**
 * The downloadable log: one row per item as CSV (Excel-safe) or JSON/NDJSON, and a per-day summary with
 * the columns Microsoft's connector log uses. Everything streams from the paged table query.
 */
import { PassThrough, type Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { z } from 'zod';
import { DELIVERY_STATUSES, type DeliveryStatus } from './delivery-row.js';
import { deliveryViews, type JoinedItem } from './log-rows.js';
import { ITEM_STATUSES, type ItemStatus, isStoredItem, type StatusRow } from './status-row.js';

const day = z.iso.date({ message: 'must be a date as yyyy-mm-dd' });
const enumList = <T extends string>(name: string, allowed: readonly T[]) =>
  z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (!s) return undefined;
      const parts = s.split(',').map((p) => p.trim().toLowerCase());
      const bad = parts.filter((p) => !(allowed as readonly string[]).includes(p));
      if (bad.length) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown ${name} ${bad.join(', ')}; use ${allowed.join(', ')}`,
        });
        return z.NEVER;
      }
      return parts as T[];
    });

const MAX_RANGE_DAYS = 400;
type Range = { from: string; to: string };
/** Range checks only once both dates are valid, so a bad date gets exactly one, precise error. */
const rangeChecks = <S extends z.ZodType<Range>>(schema: S) =>
  schema.superRefine((q, ctx) => {
    // A bad date is already reported by its own schema: comparing it would only add noise.
    if (!day.safeParse(q.from).success || !day.safeParse(q.to).success) return;
    if (q.from > q.to) ctx.addIssue({ code: 'custom', message: 'must not be after "to"', path: ['from'] });
    else if ((Date.parse(q.to) - Date.parse(q.from)) / 86_400_000 > MAX_RANGE_DAYS)
      ctx.addIssue({
        code: 'custom',
        message: `range may span at most ${MAX_RANGE_DAYS} days`,
        path: ['to'],
      });
  });

export const LogQuerySchema = rangeChecks(
  z.object({
    from: day,
    to: day,
    status: enumList('status', ITEM_STATUSES),
    deliveryStatus: enumList('deliveryStatus', DELIVERY_STATUSES),
    format: z.enum(['csv', 'json', 'ndjson']).default('csv'),
  }),
);
export const SummaryQuerySchema = rangeChecks(
  z.object({ from: day, to: day, format: z.enum(['csv', 'json']).default('csv') }),
);
export type LogQuery = z.infer<typeof LogQuerySchema>;

/** "from: must be a date as yyyy-mm-dd; to: ..." — each problem names its parameter. */
export function describeQueryError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ');
}

export const LOG_COLUMNS = [
  'day',
  'conversationId',
  'version',
  'status',
  'reason',
  'mailbox',
  'deliveryStatus',
  'deliveryTime',
  'deliveryReason',
  'deliveryAttempts',
  'conversationStart',
  'conversationEnd',
  'conversationStatus',
  'archivedAt',
  'blobPath',
  'size',
  'sha256',
  'addresses',
  'messages',
  'files',
  'filesAttached',
  'participants',
  'duplicatesSkipped',
  'attempts',
  'accountId',
] as const;

export type LogRecord = Record<(typeof LOG_COLUMNS)[number], string | number>;

/** The item's own columns, shared by each of its (item, mailbox) rows. */
export function toLogRecord(row: StatusRow): LogRecord {
  return {
    day: row.partitionKey,
    conversationId: row.conversationId,
    version: row.version,
    status: row.status,
    reason: row.reason ?? '',
    mailbox: '',
    deliveryStatus: '',
    deliveryTime: '',
    deliveryReason: '',
    deliveryAttempts: '',
    conversationStart: row.conversationStart ?? '',
    conversationEnd: row.conversationEnd ?? '',
    conversationStatus: row.conversationStatus ?? '',
    archivedAt: row.archivedAt ?? '',
    blobPath: row.blobPath ?? '',
    size: row.size ?? '',
    sha256: row.sha256 ?? '',
    addresses: row.addresses ?? '',
    messages: row.messages ?? '',
    files: row.files ?? '',
    filesAttached: row.filesAttached ?? '',
    participants: row.participants ?? '',
    duplicatesSkipped: row.duplicatesSkipped ?? 0,
    attempts: row.attempts ?? '',
    accountId: row.accountId ?? '',
  };
}

/** One log row per (item, mailbox), filtered by item and delivery status. */
export async function* logRecords(
  items: AsyncIterable<JoinedItem>,
  opts: {
    deliveryEnabled: boolean;
    status?: ItemStatus[] | undefined;
    deliveryStatus?: DeliveryStatus[] | undefined;
  },
): AsyncGenerator<LogRecord> {
  for await (const j of items) {
    if (opts.status && !opts.status.includes(j.item.status)) continue;
    const base = toLogRecord(j.item);
    for (const d of deliveryViews(j, opts.deliveryEnabled)) {
      if (opts.deliveryStatus && !opts.deliveryStatus.includes(d.deliveryStatus)) continue;
      yield {
        ...base,
        mailbox: d.mailbox,
        deliveryStatus: d.deliveryStatus,
        deliveryTime: d.deliveryTime,
        deliveryReason: d.deliveryReason,
        deliveryAttempts: d.attempts,
      };
    }
  }
}

/**
 * Spreadsheet formula injection guard (OWASP "CSV injection"): a cell starting with = + - @ tab or CR is
 * read as a formula by Excel; a leading apostrophe makes it text. Numbers are left alone.
 */
export function excelSafe(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export type DownloadErrorListener = (err: Error) => void;

const incomplete = (err: unknown) => `log incomplete: ${err instanceof Error ? err.message : String(err)}`;

/**
 * A CSV of `rows`, streamed. If reading the rows fails midway (storage unreachable), the CSV ends with a
 * last row `#ERROR,"log incomplete: …"`, so a client can always tell a complete log from a broken one.
 * The stream itself ends normally: the Functions HTTP stream proxy leaves a response hanging when its body
 * stream errors, and a hung download is worse than one that says it is incomplete.
 */
export function csvStream(
  rows: AsyncIterable<Record<string, string | number>>,
  columns: readonly string[],
  onError: DownloadErrorListener = () => {},
): Readable {
  const csv = stringify({
    header: true,
    columns: [...columns],
    cast: { string: excelSafe },
    record_delimiter: 'windows',
    bom: true,
  });
  const out = new PassThrough();
  csv.on('data', (c) => out.write(c));
  let failure: string | undefined;
  csv.on('end', () => {
    if (failure !== undefined) out.write(`#ERROR,${JSON.stringify(failure)}\r\n`);
    out.end();
  });
  csv.on('error', (err) => {
    onError(err);
    out.end(`#ERROR,${JSON.stringify(incomplete(err))}\r\n`);
  });
  (async () => {
    try {
      for await (const r of rows) {
        if (out.destroyed) return;
        if (!csv.write(r)) await new Promise((resolve) => csv.once('drain', resolve));
      }
    } catch (err) {
      failure = incomplete(err);
      onError(err instanceof Error ? err : new Error(String(err)));
    }
    csv.end();
  })();
  return out;
}

/** NDJSON; a failure midway ends it with a last `{"error": "log incomplete: …"}` line. */
export async function* ndjson(
  rows: AsyncIterable<unknown>,
  onError: DownloadErrorListener = () => {},
): AsyncGenerator<string> {
  try {
    for await (const r of rows) yield `${JSON.stringify(r)}\n`;
  } catch (err) {
    onError(err instanceof Error ? err : new Error(String(err)));
    yield `${JSON.stringify({ error: incomplete(err) })}\n`;
  }
}

/**
 * A JSON array streamed element by element. A failure midway leaves the array unclosed and adds an
 * `{"error": …}` object after it: the body is then not valid JSON, so no parser takes it for the whole log.
 */
export async function* jsonArray(
  rows: AsyncIterable<unknown>,
  onError: DownloadErrorListener = () => {},
): AsyncGenerator<string> {
  let first = true;
  yield '[';
  try {
    for await (const r of rows) {
      yield `${first ? '' : ','}\n${JSON.stringify(r)}`;
      first = false;
    }
  } catch (err) {
    onError(err instanceof Error ? err : new Error(String(err)));
    yield `\n${JSON.stringify({ error: incomplete(err) })}\n`;
    return;
  }
  yield first ? ']\n' : '\n]\n';
}

export async function* mapRows<A, B>(rows: AsyncIterable<A>, fn: (a: A) => B): AsyncGenerator<B> {
  for await (const r of rows) yield fn(r);
}

export const SUMMARY_COLUMNS = [
  'day',
  'itemsFoundAtSource',
  'itemsArchived',
  'itemsPartiallyArchived',
  'itemsFailed',
  'itemsOpen',
  'itemsSkippedDuplicates',
  'itemsAvailableForImport',
  'itemsImported',
  'itemsPartiallyImported',
  'itemsImportSkipped',
  'itemsImportFailed',
  'itemsImportPending',
] as const;
export type DaySummary = { day: string } & Record<Exclude<(typeof SUMMARY_COLUMNS)[number], 'day'>, number>;

/**
 * Per conversation-start day, in the terms of Microsoft's connector log:
 * - found at source = archived + partially archived + failed + still open: each conversation version once
 *   (an open conversation once, until its item replaces the open row). A version
 *   handed over again (queue redelivery, overlapping discovery) is counted in "skipped as duplicates",
 *   not found again.
 * - available for import (the fan-out: one per item and mailbox, unmapped items once) = imported +
 *   partially imported (files left out) + skipped (already in the mailbox) + failed (unmapped included);
 *   deliveries still under way are "pending", outside that sum.
 * Rows arrive in day order, so one day is held at a time; with a range, days without items are listed
 * too (zeros, as Microsoft's log lists "No items ingested"), up to `today` at the latest.
 */
export async function* summarize(
  items: AsyncIterable<JoinedItem>,
  range?: { from: string; to: string; today?: string },
): AsyncGenerator<DaySummary> {
  const empty = (day: string): DaySummary => ({
    day,
    itemsFoundAtSource: 0,
    itemsArchived: 0,
    itemsPartiallyArchived: 0,
    itemsFailed: 0,
    itemsOpen: 0,
    itemsSkippedDuplicates: 0,
    itemsAvailableForImport: 0,
    itemsImported: 0,
    itemsPartiallyImported: 0,
    itemsImportSkipped: 0,
    itemsImportFailed: 0,
    itemsImportPending: 0,
  });
  const last = range ? (range.today && range.today < range.to ? range.today : range.to) : undefined;
  let next = range?.from;
  const gapsBefore = function* (day: string | undefined) {
    while (next !== undefined && last !== undefined && (day === undefined || next < day) && next <= last) {
      yield empty(next);
      next = nextDay(next);
    }
  };
  let current: DaySummary | undefined;
  for await (const j of items) {
    const row = j.item;
    if (last !== undefined && row.partitionKey > last) continue;
    if (!current || current.day !== row.partitionKey) {
      if (current) yield current;
      yield* gapsBefore(row.partitionKey);
      if (next === row.partitionKey) next = nextDay(next);
      current = empty(row.partitionKey);
    }
    const c = current;
    if (row.status === 'archived') c.itemsArchived++;
    else if (row.status === 'partial') c.itemsPartiallyArchived++;
    else if (row.status === 'failed') c.itemsFailed++;
    else if (row.status === 'open') c.itemsOpen++;
    c.itemsSkippedDuplicates += row.duplicatesSkipped ?? 0;
    c.itemsFoundAtSource = c.itemsArchived + c.itemsPartiallyArchived + c.itemsFailed + c.itemsOpen;
    if (!isStoredItem(row.status)) continue;
    for (const d of j.deliveries) {
      if (d.deliveryStatus === 'pending') c.itemsImportPending++;
      else if (d.deliveryStatus === 'delivered' && (d.omitted ?? 0) > 0) c.itemsPartiallyImported++;
      else if (d.deliveryStatus === 'delivered') c.itemsImported++;
      else if (d.deliveryStatus === 'duplicate') c.itemsImportSkipped++;
      else c.itemsImportFailed++; // failed, unmapped
    }
    if (j.deliveries.length === 0) c.itemsImportPending++;
    c.itemsAvailableForImport =
      c.itemsImported + c.itemsPartiallyImported + c.itemsImportSkipped + c.itemsImportFailed;
  }
  if (current) yield current;
  yield* gapsBefore(undefined);
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
