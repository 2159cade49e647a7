/**
 * The two log downloads as plain request → response logic (the HTTP functions only adapt it):
 * per-item rows (CSV/JSON/NDJSON) and the per-day summary, both streamed from the paged table query.
 */
import { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import {
  csvStream,
  describeQueryError,
  jsonArray,
  LOG_COLUMNS,
  LogQuerySchema,
  mapRows,
  ndjson,
  SUMMARY_COLUMNS,
  SummaryQuerySchema,
  summarize,
  toLogRecord,
} from './log-export.js';
import type { StatusLog } from './status-log.js';

export interface LogResponse {
  status: number;
  headers: Record<string, string>;
  body: Readable | string;
}

const badRequest = (message: string): LogResponse => ({
  status: 400,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify({ error: message }),
});

const attachment = (name: string) => `attachment; filename="${name}"`;

export function downloadItems(query: Record<string, string>, log: StatusLog, logger: Logger): LogResponse {
  const parsed = LogQuerySchema.safeParse(query);
  if (!parsed.success) return badRequest(describeQueryError(parsed.error));
  const q = parsed.data;
  logger.info('status log download', { from: q.from, to: q.to, status: q.status, format: q.format });
  const records = mapRows(log.range(q.from, q.to, q.status), toLogRecord);
  const base = `liveperson-archive-log_${q.from}_${q.to}`;
  if (q.format === 'csv')
    return {
      status: 200,
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': attachment(`${base}.csv`),
      },
      body: csvStream(records, LOG_COLUMNS),
    };
  if (q.format === 'ndjson')
    return {
      status: 200,
      headers: { 'content-type': 'application/x-ndjson' },
      body: Readable.from(ndjson(records)),
    };
  return {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: Readable.from(jsonArray(records)),
  };
}

export function downloadSummary(query: Record<string, string>, log: StatusLog, logger: Logger): LogResponse {
  const parsed = SummaryQuerySchema.safeParse(query);
  if (!parsed.success) return badRequest(describeQueryError(parsed.error));
  const q = parsed.data;
  logger.info('status log summary', { from: q.from, to: q.to, format: q.format });
  const days = summarize(log.range(q.from, q.to), { from: q.from, to: q.to });
  if (q.format === 'csv')
    return {
      status: 200,
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': attachment(`liveperson-archive-summary_${q.from}_${q.to}.csv`),
      },
      body: csvStream(days, SUMMARY_COLUMNS),
    };
  return {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: Readable.from(jsonArray(days)),
  };
}
