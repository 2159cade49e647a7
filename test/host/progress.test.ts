import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import {
  formatProgress,
  type ProgressSnapshot,
  startProgressReporter,
  statusTableSource,
} from '../../dev/host/progress.js';
import { silentLogger } from '../../lib/log.js';
import { DeliveryLog, StatusLog } from '../../lib/statuslog/status-log.js';
import { memoryLogger, waitFor } from './helpers.js';

describe('progress lines', () => {
  it('says how far the archive is, naming open, failed and partial items', () => {
    expect(formatProgress({ found: 120, open: 9, archived: 95, partial: 0, failed: 0, pending: 16 })).toBe(
      'archived 95 of 120 found (9 open, 0 failed)',
    );
    expect(
      formatProgress({
        archived: 3,
        partial: 0,
        failed: 0,
        pending: 0,
        deliveries: { delivered: 5, unmapped: 1, failed: 0, pending: 2 },
      }),
    ).toBe('archived 3 (0 failed); 5 mailbox copies delivered (1 unmapped, 0 failed, 2 waiting)');
    expect(formatProgress({ archived: 90, partial: 5, failed: 2, pending: 0 })).toBe(
      'archived 95 (2 failed, 5 partial)',
    );
    expect(
      formatProgress({ open: 3, archived: 13, partial: 0, failed: 0, pending: 0, groupsQueued: 1 }),
    ).toBe('archived 13 so far (3 open, 0 failed)');
  });

  it('prints a line per interval while work is pending, then one idle line, then nothing until work returns', async () => {
    const snapshots: ProgressSnapshot[] = [
      { open: 1, archived: 0, partial: 0, failed: 0, pending: 0, groupsQueued: 2 },
      { found: 10, open: 1, archived: 2, partial: 0, failed: 0, pending: 7 },
      { found: 10, open: 1, archived: 8, partial: 0, failed: 1, pending: 0, busy: true },
      { found: 10, open: 1, archived: 8, partial: 0, failed: 1, pending: 0 },
      { found: 10, open: 1, archived: 8, partial: 0, failed: 1, pending: 0 },
      { found: 12, open: 1, archived: 8, partial: 0, failed: 1, pending: 2 },
      { found: 12, open: 1, archived: 10, partial: 0, failed: 1, pending: 0 },
    ];
    let i = 0;
    const logger = memoryLogger();
    const reporter = startProgressReporter({
      source: { snapshot: async () => snapshots[Math.min(i++, snapshots.length - 1)]! },
      logger,
      intervalMs: 5,
    });
    await waitFor(() => i > snapshots.length + 2, 'every snapshot read');
    await reporter.stop();
    expect(logger.lines.map((l) => `${l.level} ${l.message}`)).toEqual([
      'info progress: archived 0 so far (1 open, 0 failed), 2 archive groups queued, 0 pending',
      'info progress: archived 2 of 10 found (1 open, 0 failed), 7 pending',
      'info progress: archived 8 of 10 found (1 open, 1 failed), 0 pending',
      'info idle: archived 8 of 10 found (1 open, 1 failed); everything found is done',
      'info progress: archived 8 of 12 found (1 open, 1 failed), 2 pending',
      'info idle: archived 10 of 12 found (1 open, 1 failed); everything found is done',
    ]);
  });

  it('counts mailbox copies only of stored items: a failed or still-open conversation has none to wait for', async () => {
    const table = TableClient.fromConnectionString(
      inject('storageConnection'),
      `pg${randomUUID().slice(0, 8)}`,
      {
        allowInsecureConnection: true,
      },
    );
    const statusLog = new StatusLog(table, silentLogger);
    const day = '2026-03-04';
    const start = `${day}T09:00:00.000Z`;
    await statusLog.recordArchived({
      day,
      conversationId: 'stored',
      version: 'v1',
      status: 'archived',
      conversationStart: start,
      archivedAt: start,
      blobPath: 'archive/x.eml',
      size: 1,
      sha256: 'a'.repeat(64),
      addresses: ['a@brand.example'],
      counts: { messages: 1, files: 0, filesAttached: 0, participants: 2 },
    });
    await new DeliveryLog(table).planned(
      { day, conversationId: 'stored', itemKey: 'v1' },
      'a@brand.example',
      'automatic',
    );
    await statusLog.recordOpen({ day, conversationId: 'open-1', accountId: '1', conversationStart: start });
    await statusLog.recordFailed({
      day,
      conversationId: 'bad-1',
      accountId: '1',
      conversationStart: start,
      reason: 'x',
    });
    const source = statusTableSource({
      host: {
        activity: async () => ({
          queues: {},
          invocationsInFlight: 0,
          blobEventsPending: 0,
          eventsPending: 0,
          timersRunning: 0,
        }),
      },
      statusLog,
      deliveries: true,
      range: () => ({ from: day, to: day }),
    });
    const s = await source.snapshot();
    expect(s).toMatchObject({ archived: 1, failed: 1, open: 1, found: 3 });
    expect(s.deliveries).toEqual({ delivered: 0, unmapped: 0, failed: 0, pending: 1 });

    // An archive message is a group of conversations without rows: the rows cannot say how many were
    // found, and the group is not one pending item (it read "13 of 17 found, 1 pending" for 47 queued).
    const queuedSource = statusTableSource({
      host: {
        activity: async () => ({
          queues: { archive: 1, delivery: 4 },
          invocationsInFlight: 1,
          blobEventsPending: 0,
          eventsPending: 2,
          timersRunning: 0,
        }),
      },
      statusLog,
      archiveQueue: 'archive',
      range: () => ({ from: day, to: day }),
    });
    const queued = await queuedSource.snapshot();
    expect(queued).toMatchObject({ archived: 1, failed: 1, open: 1, pending: 2, groupsQueued: 1 });
    expect(queued.found).toBeUndefined();
  });
});
