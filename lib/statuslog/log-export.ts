/**
 * The downloadable log: one row per item as CSV (Excel-safe) or JSON/NDJSON, and a per-day summary with
 * the columns Microsoft's connector log uses. Everything streams from the paged table query.
 */
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { z } from 'zod';
import type { StatusRow } from './status-row.js';
import { ITEM_STATUSES } from './status-row.js';

const day = z.iso.date({ message: 'must be a date as yyyy-mm-dd' });
const statusList = z
  .string()
  .optional()
  .transform((s, ctx) => {
    if (!s) return undefined;
    const parts = s.split(',').map((p) => p.trim().toLowerCase());
    const bad = parts.filter((p) => !(ITEM_STATUSES as readonly string[]).includes(p));
    if (bad.length) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown status ${bad.join(', ')}; use ${ITEM_STATUSES.join(', ')}`,
      });
      return z.NEVER;
    }
    return parts as (typeof ITEM_STATUSES)[number][];
  });

const MAX_RANGE_DAYS = 400;
type Range = { from: string; to: string };
const rangeChecks = <S extends z.ZodType<Range>>(schema: S) =>
  schema
    .refine((q) => q.from <= q.to, { message: 'must not be after "to"', path: ['from'] })
    .refine((q) => (Date.parse(q.to) - Date.parse(q.from)) / 86_400_000 <= MAX_RANGE_DAYS, {
      message: `range may span at most ${MAX_RANGE_DAYS} days`,
      path: ['to'],
    });

export const LogQuerySchema = rangeChecks(
  z.object({
    from: day,
    to: day,
    status: statusList,
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

export function toLogRecord(row: StatusRow): LogRecord {
  return {
    day: row.partitionKey,
    conversationId: row.conversationId,
    version: row.version,
    status: row.status,
    reason: row.reason ?? '',
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

/**
 * Spreadsheet formula injection guard (OWASP "CSV injection"): a cell starting with = + - @ tab or CR is
 * read as a formula by Excel; a leading apostrophe makes it text. Numbers are left alone.
 */
export function excelSafe(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export function csvStream(
  rows: AsyncIterable<Record<string, string | number>>,
  columns: readonly string[],
): Readable {
  const csv = stringify({
    header: true,
    columns: [...columns],
    cast: { string: excelSafe },
    record_delimiter: 'windows',
    bom: true,
  });
  Readable.from(rows).pipe(csv);
  return csv;
}

export async function* ndjson(rows: AsyncIterable<unknown>): AsyncGenerator<string> {
  for await (const r of rows) yield `${JSON.stringify(r)}\n`;
}

/** A JSON array streamed element by element. */
export async function* jsonArray(rows: AsyncIterable<unknown>): AsyncGenerator<string> {
  let first = true;
  yield '[';
  for await (const r of rows) {
    yield `${first ? '' : ','}\n${JSON.stringify(r)}`;
    first = false;
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
  'itemsSkippedDuplicates',
  'itemsFailed',
] as const;
export type DaySummary = { day: string } & Record<Exclude<(typeof SUMMARY_COLUMNS)[number], 'day'>, number>;

/**
 * Per conversation-start day. "Found at source" counts every hand-over of a conversation version to the
 * archive step that reached an outcome: each stored item (archived or partial), each redelivery or
 * rediscovery of an already stored version (skipped as duplicate), and each failed conversation. So, as in
 * Microsoft's connector log, found = archived + partial + skipped + failed. Rows arrive in day order
 * (PartitionKey order), so one day is held at a time.
 */
export async function* summarize(
  rows: AsyncIterable<StatusRow>,
  range?: { from: string; to: string },
): AsyncGenerator<DaySummary> {
  const empty = (day: string): DaySummary => ({
    day,
    itemsFoundAtSource: 0,
    itemsArchived: 0,
    itemsPartiallyArchived: 0,
    itemsSkippedDuplicates: 0,
    itemsFailed: 0,
  });
  // With a range, days without items are listed too (zeros), as Microsoft's log lists "No items ingested".
  let next = range?.from;
  const gapsBefore = function* (day: string | undefined) {
    while (next !== undefined && (day === undefined || next < day) && range && next <= range.to) {
      yield empty(next);
      next = nextDay(next);
    }
  };
  let current: DaySummary | undefined;
  for await (const row of rows) {
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
    else if (row.status === 'skipped') c.itemsSkippedDuplicates++;
    c.itemsSkippedDuplicates += row.duplicatesSkipped ?? 0;
    c.itemsFoundAtSource =
      c.itemsArchived + c.itemsPartiallyArchived + c.itemsSkippedDuplicates + c.itemsFailed;
  }
  if (current) yield current;
  yield* gapsBefore(undefined);
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
