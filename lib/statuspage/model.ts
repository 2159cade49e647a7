/**
 * What the status page shows, as one validated value: the connector's properties (what Microsoft's
 * compliance portal lists for a connector), its state (last discovery run, watermark, queues, recent
 * failures) and 30 days of history. The collector builds it; the renderer turns it into HTML. Each
 * section carries its own `error` so one unreadable source gives one clear sentence, not a failed page.
 */
import { z } from 'zod';
import { DiscoveryRunSchema } from '../discovery/run-log.js';

const iso = z.iso.datetime();
const count = z.number().int().nonnegative();
const day = z.iso.date();

export const ConnectorPropertiesSchema = z.object({
  accountId: z.string(),
  /** NCRONTAB, as set in DISCOVERY_SCHEDULE. */
  discoverySchedule: z.string(),
  /** The next two times the schedule fires (from the page's clock), so its pace is readable. */
  nextDiscoveryRuns: z.array(iso),
  backfillDays: count,
  overlapMinutes: count,
  mailboxFolder: z.string(),
  appVersion: z.string(),
  /** Mailbox delivery: off without Microsoft Graph settings. */
  delivery: z.discriminatedUnion('enabled', [
    z.object({ enabled: z.literal(false) }),
    z.object({
      enabled: z.literal(true),
      /** Graph import mode (GRAPH_IMPORT_MODE). */
      importMode: z.enum(['importMime', 'json']),
      /** `container/path.csv` overrides of the automatic mapping, if set. */
      mappingFile: z.string().optional(),
      fallbackMailbox: z.string().optional(),
      deliverToConsumers: z.boolean(),
      tenantDomains: z.array(z.string()),
    }),
  ]),
});
export type ConnectorProperties = z.infer<typeof ConnectorPropertiesSchema>;

export const DiscoveryStateSchema = z.object({
  lastRun: DiscoveryRunSchema.optional(),
  /** Every conversation updated before this instant has been queued. */
  watermark: iso.optional(),
  /** now − watermark, in ms (0 if the watermark is ahead of the page's clock). */
  watermarkLagMs: count.optional(),
  /** The last run started longer ago than three schedule intervals (plus a minute). */
  overdue: z.boolean(),
  error: z.string().optional(),
});
export type DiscoveryState = z.infer<typeof DiscoveryStateSchema>;

export const QUEUE_ROLES = [
  'archive',
  'archive-poison',
  'delivery-plan',
  'delivery-plan-poison',
  'delivery',
  'delivery-poison',
] as const;
export const QueueDepthSchema = z.object({
  name: z.string(),
  role: z.enum(QUEUE_ROLES),
  /** Approximate message count (Azure's own figure); absent when the queue does not exist yet or on error. */
  approximateMessages: count.optional(),
  exists: z.boolean(),
  error: z.string().optional(),
});
export type QueueDepth = z.infer<typeof QueueDepthSchema>;

export const DayCountsSchema = z.object({
  day,
  archived: count,
  partial: count,
  failed: count,
  duplicates: count,
  /** Delivered to mailboxes: imported plus partially imported (connector-log terms), per (item, mailbox). */
  delivered: count,
  /** Delivery failed, unmapped included. */
  deliveryFailed: count,
  /** Already in the mailbox (import skipped). */
  deliverySkipped: count,
  /** Waiting for mailbox delivery. */
  deliveryPending: count,
});
export type DayCounts = z.infer<typeof DayCountsSchema>;

export const ReasonCountSchema = z.object({ reason: z.string(), count });
export const FailureKindSchema = z.object({
  count,
  /** Most frequent first; `(other reasons)` collects what the bounded counter could not keep apart. */
  topReasons: z.array(ReasonCountSchema),
});

export const RecentFailuresSchema = z.object({
  /** The start of the 24 hours (page clock − 24 h). */
  since: iso,
  archive: FailureKindSchema,
  delivery: FailureKindSchema,
  unmapped: FailureKindSchema,
});
export type RecentFailures = z.infer<typeof RecentFailuresSchema>;

export const HistorySchema = z.object({
  from: day,
  to: day,
  /** One entry per day from..to, zeros included. */
  days: z.array(DayCountsSchema),
  failures: RecentFailuresSchema,
  /** Rows that could not be read (left out of the counts). */
  unreadableRows: count,
  /** Set when the table could not be read to the end: the counts are then incomplete and not shown. */
  error: z.string().optional(),
});
export type History = z.infer<typeof HistorySchema>;

export const ConnectorStatusSchema = z.object({
  generatedAt: iso,
  properties: ConnectorPropertiesSchema,
  discovery: DiscoveryStateSchema,
  queues: z.array(QueueDepthSchema),
  history: HistorySchema,
});
export type ConnectorStatus = z.infer<typeof ConnectorStatusSchema>;
