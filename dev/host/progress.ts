import type { Logger } from '../../lib/log.js';
import { joinedItems } from '../../lib/statuslog/log-rows.js';
import type { StatusLog } from '../../lib/statuslog/status-log.js';
import { isStoredItem } from '../../lib/statuslog/status-row.js';
import type { LocalHost } from './local-host.js';

/** Where the archive stands now. `found` and `open` only when the source knows them. */
export interface ProgressSnapshot {
  /**
   * Conversations discovered so far: archived + partial + failed + pending + open. Unknown while archive
   * groups are queued: a group holds up to ARCHIVE_GROUP_SIZE conversations that have no row yet.
   */
  found?: number;
  /** Open conversations discovery leaves for later (archived once closed). */
  open?: number;
  archived: number;
  partial: number;
  failed: number;
  /** Items stored whose status row is not recorded yet (blob events pending). */
  pending: number;
  /** Archive queue messages not yet done, each a group of conversations to fetch and archive. */
  groupsQueued?: number;
  /** Other work is running (a discovery run, an invocation): not idle, though no item may be pending. */
  busy?: boolean;
  /** Mailbox copies (one per item and mailbox), when mailbox delivery is on. */
  deliveries?: { delivered: number; unmapped: number; failed: number; pending: number };
}

/** What the reporter reads; the first one reads the status table and the host (statusTableSource below). */
export interface ProgressSource {
  snapshot(): Promise<ProgressSnapshot>;
}

/** "archived 95 of 120 found (9 open, 0 failed)": partial items count as archived and are named too. */
export function formatProgress(s: ProgressSnapshot): string {
  const stored = s.archived + s.partial;
  const of = s.found !== undefined ? ` of ${s.found} found` : s.groupsQueued ? ' so far' : '';
  const details = [
    ...(s.open !== undefined ? [`${s.open} open`] : []),
    `${s.failed} failed`,
    ...(s.partial ? [`${s.partial} partial`] : []),
  ];
  const d = s.deliveries;
  const mail = d
    ? `; ${d.delivered} mailbox copies delivered (${d.unmapped} unmapped, ${d.failed} failed${d.pending ? `, ${d.pending} waiting` : ''})`
    : '';
  return `archived ${stored}${of} (${details.join(', ')})${mail}`;
}

export interface ProgressReporter {
  stop(): Promise<void>;
}

/**
 * Every `intervalMs` while work is pending, one info line ("progress: archived 40 so far (9 open,
 * 0 failed), 2 archive groups queued, 3 pending", then "archived 95 of 120 found ..." once no group is
 * left); once everything found is done, one "idle:" line; nothing more until work comes again. So a
 * newcomer sees the run advance and end without one log line per item.
 */
export function startProgressReporter(opts: {
  source: ProgressSource;
  logger: Logger;
  intervalMs?: number;
}): ProgressReporter {
  const interval = opts.intervalMs ?? 5_000;
  let state: 'start' | 'busy' | 'idle' = 'start';
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let failedBefore = false;

  const tick = async () => {
    try {
      const s = await opts.source.snapshot();
      failedBefore = false;
      const groups = s.groupsQueued ?? 0;
      if (s.pending > 0 || groups > 0 || s.busy) {
        state = 'busy';
        const queued = groups ? `, ${groups} archive group${groups === 1 ? '' : 's'} queued` : '';
        opts.logger.info(`progress: ${formatProgress(s)}${queued}, ${s.pending} pending`);
      } else if (state !== 'idle') {
        state = 'idle';
        opts.logger.info(`idle: ${formatProgress(s)}; everything found is done`);
      }
    } catch (err) {
      if (!failedBefore)
        opts.logger.warn('progress: could not read the status', { error: (err as Error).message });
      failedBefore = true;
    }
  };
  const loop = () => {
    if (stopped) return;
    running = tick().finally(() => {
      running = undefined;
      if (!stopped) timer = setTimeout(loop, interval);
    });
  };
  timer = setTimeout(loop, interval);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/**
 * The first progress source: counts in the status table over the log range (the backfill range), the
 * host's queues and pending events; conversations still open at LivePerson by their `open` rows.
 */
export function statusTableSource(opts: {
  host: Pick<LocalHost, 'activity'>;
  statusLog: Pick<StatusLog, 'entities'>;
  /** Count mailbox deliveries too (delivery is on). */
  deliveries?: boolean;
  /** The archive queue: only its messages are items still to archive (others, e.g. deliveries, are just work). */
  archiveQueue?: string;
  /** The days to count (the backfill range, up to today). */
  range: () => { from: string; to: string };
}): ProgressSource {
  return {
    async snapshot() {
      const activity = await opts.host.activity();
      const { from, to } = opts.range();
      const counts = { archived: 0, partial: 0, failed: 0, open: 0 };
      const mail = { delivered: 0, unmapped: 0, failed: 0, pending: 0 };
      for await (const { item, deliveries } of joinedItems(opts.statusLog.entities(from, to))) {
        if (item.status !== 'skipped') counts[item.status]++;
        if (!isStoredItem(item.status)) continue; // no item yet, so no mailbox copies to wait for
        if (deliveries.length === 0) mail.pending++;
        for (const d of deliveries) {
          if (d.deliveryStatus === 'delivered' || d.deliveryStatus === 'duplicate') mail.delivered++;
          else if (d.deliveryStatus === 'unmapped') mail.unmapped++;
          else if (d.deliveryStatus === 'failed') mail.failed++;
          else mail.pending++;
        }
      }
      const queued = Object.entries(activity.queues);
      const archiving = queued
        .filter(([name]) => opts.archiveQueue === undefined || name === opts.archiveQueue)
        .reduce((a, [, n]) => a + n, 0);
      const otherWork = queued.reduce((a, [, n]) => a + n, 0) - archiving;
      const pending = activity.eventsPending;
      return {
        ...counts,
        pending,
        groupsQueued: archiving,
        // An archive message is a group of conversations without rows yet: until none is left, the rows
        // cannot say how many were found (discovery's own log line says it).
        ...(archiving === 0
          ? { found: counts.archived + counts.partial + counts.failed + pending + counts.open }
          : {}),
        busy: activity.timersRunning > 0 || activity.invocationsInFlight > 0 || otherWork > 0,
        ...(opts.deliveries ? { deliveries: mail } : {}),
      };
    },
  };
}
