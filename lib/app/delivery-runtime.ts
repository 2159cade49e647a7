/**
 * Composition of the mailbox delivery stage (when GRAPH_TENANT_ID is set): Graph credential, HTTP core
 * with the per-mailbox limiter, client, folder resolver, mailbox directory, mapping file, importer, and
 * the queue entry points the functions call. Built once per process by lib/app/runtime.ts.
 */
import { readFileSync } from 'node:fs';
import type { TableClient } from '@azure/data-tables';
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import type { AppSettings } from '../config.js';
import { createGraphCredential, GraphTokenSource } from '../graph/auth.js';
import { GraphClient } from '../graph/client.js';
import type { GraphConfig } from '../graph/config.js';
import { GraphHttp } from '../graph/http.js';
import { MailboxLimiter } from '../graph/mailbox-limiter.js';
import { safeKey } from '../ids.js';
import type { Logger } from '../log.js';
import { deliverToMailbox, recordDeliveryFailure } from '../mailbox/deliver.js';
import { MailboxDirectory } from '../mailbox/directory.js';
import { FolderResolver } from '../mailbox/folders.js';
import { JsonImporter } from '../mailbox/import-json.js';
import { ImportMimeImporter } from '../mailbox/import-mime.js';
import type { MailboxImporter } from '../mailbox/importer.js';
import { MappingSource } from '../mailbox/mapping-csv.js';
import { DeliverMessageSchema, describeInvalid, PlanMessageSchema } from '../mailbox/messages.js';
import { planDelivery } from '../mailbox/plan-delivery.js';
import { encodeQueueJson, queuePayload } from '../queue/codec.js';
import { DeliveryLog } from '../statuslog/status-log.js';
import { telemetry } from '../telemetry/metrics.js';
import { inSpan } from '../telemetry/tracing.js';

/** Longest a delivery waits in place for Graph (Retry-After or the mailbox's budget); longer goes back to the queue. */
const MAX_INLINE_WAIT_MS = 15_000;

export interface DeliveryRuntimeDeps {
  settings: AppSettings;
  graph: GraphConfig;
  archive: ContainerClient;
  /** The app's own storage (mapping CSV lives there). */
  blobContainer: (name: string) => ContainerClient;
  queue: (name: string) => QueueClient;
  table: (name: string) => TableClient;
  statusTable: TableClient;
  logger?: Logger;
  now?: () => number;
}

export function createDeliveryRuntime(d: DeliveryRuntimeDeps) {
  const s = d.settings;
  const ca = d.graph.caCertFile ? readFileSync(d.graph.caCertFile, 'utf8') : undefined;
  const credential = createGraphCredential({
    tenantId: d.graph.tenantId,
    credential: d.graph.credential,
    authorityHost: d.graph.authorityHost,
    scope: d.graph.scope,
    allowedHosts: d.graph.allowedHosts,
    ca,
  });
  const tokens = new GraphTokenSource(credential, d.graph.scope);
  const limiter = new MailboxLimiter(d.graph.limits);
  const http = new GraphHttp(
    {
      allowedHosts: d.graph.allowedHosts,
      timeoutMs: d.graph.timeoutMs,
      maxAttempts: d.graph.maxAttempts,
      maxInlineRetryAfterMs: MAX_INLINE_WAIT_MS,
      maxResponseBytes: 2 * 1024 * 1024,
    },
    {
      tokens,
      limiter,
      ...(ca ? { ca } : {}),
      ...(d.logger ? { logger: d.logger } : {}),
      onAttempt: (endpoint, outcome) => telemetry.apiCall('graph', endpoint, outcome),
    },
  );
  const graph = new GraphClient(http, { baseUrl: d.graph.baseUrl });
  const cacheTable = d.table(s.MAILBOX_TABLE);
  const folders = new FolderResolver(graph, s.MAILBOX_FOLDER, cacheTable);
  const directory = new MailboxDirectory(graph, cacheTable, {
    positiveTtlMs: s.MAILBOX_RESOLVE_CACHE_HOURS * 3_600_000,
    negativeTtlMs: s.MAILBOX_RESOLVE_NEGATIVE_MINUTES * 60_000,
    ...(d.now ? { now: d.now } : {}),
  });
  const maxItemBytes = s.MAILBOX_MAX_ITEM_MB * 1024 * 1024;
  const importer: MailboxImporter =
    d.graph.importMode === 'json'
      ? new JsonImporter(graph, { maxItemBytes })
      : new ImportMimeImporter(graph, { maxItemBytes });
  const deliveries = new DeliveryLog(d.statusTable);
  const mappingFor = (logger: Logger) => {
    const [container, ...path] = (s.MAILBOX_MAPPING_BLOB ?? '').split('/');
    return new MappingSource(
      s.MAILBOX_MAPPING_BLOB && container ? d.blobContainer(container) : undefined,
      s.MAILBOX_MAPPING_BLOB ? path.join('/') : undefined,
      logger,
    );
  };
  let mapping: MappingSource | undefined;
  const planQueue = d.queue(s.DELIVERY_PLAN_QUEUE);
  const deliverQueue = d.queue(s.DELIVERY_QUEUE);
  let queuesReady: Promise<unknown> | undefined;
  const ready = () =>
    (queuesReady ??= Promise.all([planQueue.createIfNotExists(), deliverQueue.createIfNotExists()]));
  const planErrors = cacheTable;

  return {
    graph,
    http,
    folders,
    directory,
    importer,
    deliveries,

    /** Called once an item's status row is recorded: its delivery is planned by the plan queue. */
    async enqueuePlan(blobName: string, traceparent?: string): Promise<void> {
      await ready();
      await planQueue.sendMessage(encodeQueueJson({ blobName, ...(traceparent ? { traceparent } : {}) }));
    },

    async plan(body: unknown, attempt: number, logger: Logger) {
      const parsed = PlanMessageSchema.safeParse(queuePayload(body));
      if (!parsed.success) {
        logger.error(describeInvalid('delivery plan', parsed.error));
        return { outcome: 'skipped' as const, reason: 'invalid plan message' };
      }
      await ready();
      mapping ??= mappingFor(logger);
      const m = mapping;
      try {
        return await inSpan(
          'plan mailbox delivery',
          parsed.data.traceparent,
          { 'lparchiver.blob': parsed.data.blobName },
          async (tp) => {
            const out = await planDelivery(
              { ...parsed.data, ...(tp ? { traceparent: tp } : {}) },
              {
                container: d.archive,
                deliveries,
                mapping: m,
                directory,
                settings: {
                  deliverToConsumers: s.DELIVER_TO_CONSUMERS,
                  tenantDomains: s.TENANT_DOMAINS,
                  fallbackMailbox: s.FALLBACK_MAILBOX,
                },
                enqueue: async (msg) => {
                  await deliverQueue.sendMessage(encodeQueueJson(msg));
                },
                logger,
              },
            );
            if (out.outcome === 'unmapped') telemetry.delivery('unmapped', '');
            return out;
          },
        );
      } catch (err) {
        const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        await planErrors
          .upsertEntity(
            {
              partitionKey: 'planerror',
              rowKey: safeKey(parsed.data.blobName),
              reason: reason.slice(0, 4000),
              attempt,
            },
            'Replace',
          )
          .catch(() => {});
        logger.warn('delivery planning failed, will be retried', { blobName: parsed.data.blobName, reason });
        throw err;
      }
    },

    /** The plan message failed every attempt: the item gets a `failed` delivery row with the last error. */
    async recordPlanPoison(body: unknown, logger: Logger) {
      const parsed = PlanMessageSchema.safeParse(queuePayload(body));
      if (!parsed.success) {
        logger.error(describeInvalid('poisoned delivery plan', parsed.error));
        return;
      }
      const { ArchivedBlobMetadataSchema, startDay } = await import('../archive/blob-layout.js');
      const props = await d.archive.getBlobClient(parsed.data.blobName).getProperties();
      const m = ArchivedBlobMetadataSchema.parse(props.metadata ?? {});
      let last = '';
      try {
        last = String(
          (await planErrors.getEntity<{ reason: string }>('planerror', safeKey(parsed.data.blobName))).reason,
        );
      } catch {
        last = '(no error recorded)';
      }
      await deliveries.planFailed(
        {
          day: startDay(Date.parse(m.starttime)),
          conversationId: m.conversationid,
          itemKey: m.itemkey ?? m.version,
        },
        `mailbox delivery could not be planned; last error: ${last}`,
      );
    },

    /** `messageId`: the queue message's id (the same on each retry of that message). */
    async deliver(body: unknown, attempt: number, messageId: string, logger: Logger) {
      const parsed = DeliverMessageSchema.safeParse(queuePayload(body));
      if (!parsed.success) {
        logger.error(describeInvalid('mailbox delivery', parsed.error));
        return { outcome: 'failed' as const, reason: 'invalid delivery message' };
      }
      const msg = parsed.data;
      const deps = {
        container: d.archive,
        deliveries,
        folders,
        importer,
        maxItemBytes,
        logger,
        budgetWaitMs: (userId: string, bytes: number, requests: number) =>
          limiter.waitMs(userId, bytes, requests),
        maxBudgetWaitMs: MAX_INLINE_WAIT_MS,
      };
      const out = await inSpan(
        'deliver to mailbox',
        msg.traceparent,
        {
          'lparchiver.conversation_id': msg.conversationId,
          'lparchiver.item': msg.itemKey,
          'lparchiver.attempt': attempt,
        },
        () => deliverToMailbox(msg, attempt, deps, messageId),
      );
      if (out.outcome === 'delivered' || out.outcome === 'duplicate')
        telemetry.delivery(out.outcome, msg.mailbox.address);
      else if (out.outcome === 'failed') telemetry.delivery('failed', msg.mailbox.address);
      if (out.outcome === 'rescheduled') {
        // A new copy comes back after Retry-After; this one completes. Attempts carry over.
        await ready();
        await deliverQueue.sendMessage(
          encodeQueueJson({
            ...msg,
            reschedules: msg.reschedules + 1,
            priorAttempts: msg.priorAttempts + attempt,
          }),
          { visibilityTimeout: Math.min(7 * 24 * 3600, Math.ceil(out.afterMs / 1000)) },
        );
      }
      return out;
    },

    async recordDeliveryPoison(body: unknown, logger: Logger) {
      const parsed = DeliverMessageSchema.safeParse(queuePayload(body));
      if (!parsed.success) {
        logger.error(describeInvalid('poisoned mailbox delivery', parsed.error));
        return;
      }
      await recordDeliveryFailure(parsed.data, { deliveries, logger });
      telemetry.delivery('failed', parsed.data.mailbox.address);
    },
  };
}

export type DeliveryRuntime = ReturnType<typeof createDeliveryRuntime>;
