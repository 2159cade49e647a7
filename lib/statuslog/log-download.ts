/**
 * The two log downloads as plain request → response logic (the HTTP functions only adapt it):
 * per-(item, mailbox) rows (CSV/JSON/NDJSON) and the per-day summary, both streamed from the paged table
 * query. A storage failure midway ends the body visibly (a last error row or line; JSON left invalid):
 * never a truncated log that looks complete, never a hung response, never an unhandled error.
 */
import { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import {
  csvStream,
  describeQueryError,
  jsonArray,
  LOG_COLUMNS,
  LogQuerySchema,
  logRecords,
  ndjson,
  SUMMARY_COLUMNS,
  SummaryQuerySchema,
  summarize,
} from './log-export.js';
import { joinedItems } from './log-rows.js';
import type { StatusLog } from './status-log.js';

export interface LogResponse {
  status: number;
  headers: Record<string, string>;
  body: Readable | string;
}

export interface DownloadOptions {
  /** Whether mailbox delivery is configured (what an item without delivery rows is waiting for). */
  deliveryEnabled: boolean;
  /** Today (UTC, yyyy-mm-dd): the summary lists no later day. */
  today: string;
}

const badRequest = (message: string): LogResponse => ({
  status: 400,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify({ error: message }),
});

const attachment = (name: string) => `attachment; filename="${name}"`;

/** Logs a download that ended incomplete (its body already says so to the client). */
const failed = (logger: Logger, what: string) => (err: Error) =>
  logger.error(`${what}: storage failed midway; the download ends with an error marker`, {
    error: err.message,
  });

function items(log: StatusLog, from: string, to: string, logger: Logger) {
  return joinedItems(log.entities(from, to), (e, field) =>
    logger.warn('status row unreadable, left out of the log', {
      partitionKey: e.partitionKey,
      rowKey: e.rowKey,
      field,
    }),
  );
}

export function downloadItems(
  query: Record<string, string>,
  log: StatusLog,
  logger: Logger,
  opts: DownloadOptions,
): LogResponse {
  const parsed = LogQuerySchema.safeParse(query);
  if (!parsed.success) return badRequest(describeQueryError(parsed.error));
  const q = parsed.data;
  logger.info('status log download', { from: q.from, to: q.to, status: q.status, format: q.format });
  const records = logRecords(items(log, q.from, q.to, logger), {
    deliveryEnabled: opts.deliveryEnabled,
    status: q.status,
    deliveryStatus: q.deliveryStatus,
  });
  const base = `liveperson-archive-log_${q.from}_${q.to}`;
  if (q.format === 'csv') {
    const body = csvStream(records, LOG_COLUMNS, failed(logger, 'status log download'));
    return {
      status: 200,
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': attachment(`${base}.csv`),
      },
      body,
    };
  }
  if (q.format === 'ndjson')
    return {
      status: 200,
      headers: { 'content-type': 'application/x-ndjson' },
      body: Readable.from(ndjson(records, failed(logger, 'status log download'))),
    };
  return {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: Readable.from(jsonArray(records, failed(logger, 'status log download'))),
  };
}

export function downloadSummary(
  query: Record<string, string>,
  log: StatusLog,
  logger: Logger,
  opts: DownloadOptions,
): LogResponse {
  const parsed = SummaryQuerySchema.safeParse(query);
  if (!parsed.success) return badRequest(describeQueryError(parsed.error));
  const q = parsed.data;
  logger.info('status log summary', { from: q.from, to: q.to, format: q.format });
  const days = summarize(items(log, q.from, q.to, logger), { from: q.from, to: q.to, today: opts.today });
  if (q.format === 'csv') {
    const body = csvStream(days, SUMMARY_COLUMNS, failed(logger, 'status log summary'));
    return {
      status: 200,
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': attachment(`liveperson-archive-summary_${q.from}_${q.to}.csv`),
      },
      body,
    };
  }
  return {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: Readable.from(jsonArray(days, failed(logger, 'status log summary'))),
  };
}
