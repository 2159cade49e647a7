import { describe, expect, it } from 'vitest';
import {
  formatProgress,
  observeDiscoveryRuns,
  type ProgressSnapshot,
  startProgressReporter,
} from '../../dev/host/progress.js';
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
  });

  it('prints a line per interval while work is pending, then one idle line, then nothing until work returns', async () => {
    const snapshots: ProgressSnapshot[] = [
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
      'info progress: archived 2 of 10 found (1 open, 0 failed), 7 pending',
      'info progress: archived 8 of 10 found (1 open, 1 failed), 0 pending',
      'info idle: archived 8 of 10 found (1 open, 1 failed); everything found is done',
      'info progress: archived 8 of 12 found (1 open, 1 failed), 2 pending',
      'info idle: archived 10 of 12 found (1 open, 1 failed); everything found is done',
    ]);
  });

  it('reads the last discovery run from the app log line, passing every line on', () => {
    const logger = memoryLogger();
    const observed = observeDiscoveryRuns(logger);
    expect(observed.last()).toBeUndefined();
    observed.logger.info(
      'discovery run complete {"accountId":"1","updatedSince":0,"watermark":5,"found":12,"enqueued":10,"openNotDue":2,"unreadable":0}',
      { function: 'discoverConversations' },
    );
    observed.logger.info('discovery run complete {not json');
    expect(observed.last()).toEqual({ found: 12, enqueued: 10, openNotDue: 2 });
    expect(logger.lines).toHaveLength(2);
  });
});
