/** A complete ConnectorStatus for renderer tests, built through the schema (so it is always valid). */
import { type ConnectorStatus, ConnectorStatusSchema, type DayCounts } from '../../lib/statuspage/model.js';

export const NOW = Date.parse('2026-12-04T17:02:00Z');

export function sampleDays(fill: (i: number) => Partial<DayCounts> = () => ({})): DayCounts[] {
  return Array.from({ length: 30 }, (_, i) => ({
    day: new Date(NOW - (29 - i) * 86_400_000).toISOString().slice(0, 10),
    archived: 0,
    partial: 0,
    failed: 0,
    duplicates: 0,
    delivered: 0,
    deliveryFailed: 0,
    deliverySkipped: 0,
    deliveryPending: 0,
    ...fill(i),
  }));
}

type Overrides = {
  [K in keyof ConnectorStatus]?: ConnectorStatus[K] extends object ? Partial<ConnectorStatus[K]> : never;
};

export function sampleStatus(over: Overrides = {}): ConnectorStatus {
  const days = sampleDays((i) => ({
    archived: i + 1,
    partial: i % 4 === 0 ? 2 : 0,
    failed: i === 10 ? 1 : 0,
  }));
  return ConnectorStatusSchema.parse({
    generatedAt: new Date(NOW).toISOString(),
    ...over,
    properties: {
      accountId: '12345678',
      discoverySchedule: '0 */5 * * * *',
      nextDiscoveryRuns: ['2026-12-04T17:05:00.000Z', '2026-12-04T17:10:00.000Z'],
      backfillDays: 30,
      overlapMinutes: 15,
      mailboxFolder: 'LivePerson Conversational Cloud DataParser',
      appVersion: '0.1.0',
      delivery: { enabled: false },
      ...over.properties,
    },
    discovery: {
      lastRun: {
        startedAt: '2026-12-04T17:00:00.000Z',
        finishedAt: '2026-12-04T17:00:03.000Z',
        from: '2026-12-04T16:40:00.000Z',
        to: '2026-12-04T17:00:00.000Z',
        found: 14,
        enqueued: 12,
        open: 2,
        unreadable: 0,
      },
      watermark: '2026-12-04T17:00:00.000Z',
      watermarkLagMs: 120_000,
      overdue: false,
      ...over.discovery,
    },
    queues: over.queues ?? [
      { name: 'archive-conversations', role: 'archive', exists: true, approximateMessages: 3 },
      { name: 'archive-conversations-poison', role: 'archive-poison', exists: false },
    ],
    history: {
      from: days[0]!.day,
      to: days[29]!.day,
      days,
      unreadableRows: 0,
      failures: {
        since: '2026-12-03T17:02:00.000Z',
        archive: { count: 0, topReasons: [] },
        delivery: { count: 0, topReasons: [] },
        unmapped: { count: 0, topReasons: [] },
      },
      ...over.history,
    },
  });
}
