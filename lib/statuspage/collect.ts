/**
 * Builds the status page's model from narrow sources: the connector's properties, the last discovery run,
 * the watermark, queue depth readers, the status table's rows of the last 30 days and a clock. Every
 * source is read in parallel (one table scan, one call per queue); a source that fails becomes an error
 * sentence in its own section, never a failed page.
 */
import type { DiscoveryRun } from '../discovery/run-log.js';
import type { RawEntity } from '../statuslog/log-rows.js';
import { historyWindow, scanHistory } from './history.js';
import { type ConnectorProperties, type ConnectorStatus, ConnectorStatusSchema } from './model.js';
import { type QueueReader, readQueueDepths } from './queues.js';

export interface StatusSources {
  properties: ConnectorProperties;
  lastDiscoveryRun(): Promise<DiscoveryRun | undefined>;
  /** The discovery watermark (epoch ms), undefined before the first complete run. */
  watermark(): Promise<number | undefined>;
  queues: QueueReader[];
  /** The status table's raw entities of days from..to in day and RowKey order (StatusLog.entities). */
  entities(from: string, to: string): AsyncIterable<RawEntity>;
  now(): number;
  /** Days of history shown (default 30). */
  days?: number;
}

/** A storage error as one short line (no request details). */
export function describeError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message.split('\n')[0] ?? message;
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

/** A run that started longer ago than three schedule intervals (plus a minute of slack) is overdue. */
function isOverdue(run: DiscoveryRun | undefined, nextRuns: string[], now: number): boolean {
  if (!run || nextRuns.length < 2) return false;
  const interval = Date.parse(nextRuns[1]!) - Date.parse(nextRuns[0]!);
  return now - Date.parse(run.startedAt) > 3 * interval + 60_000;
}

export async function collectConnectorStatus(src: StatusSources): Promise<ConnectorStatus> {
  const now = src.now();
  const window = historyWindow(now, src.days ?? 30);
  const [run, watermark, queues, history] = await Promise.all([
    src.lastDiscoveryRun().then(
      (value) => ({ value }),
      (err: unknown) => ({ error: describeError(err) }),
    ),
    src.watermark().then(
      (value) => ({ value }),
      (err: unknown) => ({ error: describeError(err) }),
    ),
    readQueueDepths(src.queues),
    scanHistory(src.entities(window.from, window.to), { ...window, now }),
  ]);
  const lastRun = 'value' in run ? run.value : undefined;
  const mark = 'value' in watermark ? watermark.value : undefined;
  const errors = [
    'error' in run ? `last run: ${run.error}` : '',
    'error' in watermark ? `watermark: ${watermark.error}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return ConnectorStatusSchema.parse({
    generatedAt: new Date(now).toISOString(),
    properties: src.properties,
    discovery: {
      ...(lastRun ? { lastRun } : {}),
      ...(mark !== undefined && Number.isFinite(mark)
        ? { watermark: new Date(mark).toISOString(), watermarkLagMs: Math.max(0, Math.round(now - mark)) }
        : {}),
      overdue: isOverdue(lastRun, src.properties.nextDiscoveryRuns, now),
      ...(errors ? { error: errors } : {}),
    },
    queues,
    history: history.error ? { ...history, error: describeError(history.error) } : history,
  });
}
