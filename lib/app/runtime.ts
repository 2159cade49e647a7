/**
 * Composition root: validates every setting once, builds the SDK and LivePerson clients once per process,
 * and exposes one entry point per function. functions/* pass `process.env` in; nothing below reads it.
 */

import type { BlobServiceClient } from '@azure/storage-blob';
import type { ConvertFn } from '../archive/archive-conversation.js';
import { archiveGroup } from '../archive/archive-group.js';
import { startDay } from '../archive/blob-layout.js';
import { FailureMemory } from '../archive/failure-memory.js';
import { sweepPoisonQueue } from '../archive/poison-sweep.js';
import { recordPoisonMessage, recordUnreadableMessage } from '../archive/record-failures.js';
import { type AppSettings, ConfigError, readAppSettings } from '../config.js';
import { type ArchiveGroup, encodeArchiveGroup, readArchiveMessage } from '../discovery/archive-message.js';
import { discoverConversations } from '../discovery/discover.js';
import { DiscoveryRunLog } from '../discovery/run-log.js';
import { WatermarkStore } from '../discovery/watermark-store.js';
import { ConversionError, convertConversation } from '../email/convert.js';
import { type GraphConfig, readGraphConfig } from '../graph/config.js';
import type { MailboxLimits } from '../graph/mailbox-limiter.js';
import { type ArchiverLivePersonClient, createLivePersonClient } from '../liveperson/client.js';
import { type LivePersonConfig, readLivePersonConfig } from '../liveperson/config.js';
import type { Logger } from '../log.js';
import { downloadItems, downloadSummary, type LogResponse } from '../statuslog/log-download.js';
import { recordArchivedBlob } from '../statuslog/record-archived-blob.js';
import { StatusLog } from '../statuslog/status-log.js';
import { appVersion } from '../statuspage/app-version.js';
import { doorLinks, messagePage, statusPageResponse } from '../statuspage/page.js';
import { connectorProperties } from '../statuspage/properties.js';
import { queueWithPoison } from '../statuspage/queues.js';
import {
  createBlobServiceClient,
  createStorageClients,
  resolveStorageConnection,
  type StorageClients,
} from '../storage/connection.js';
import { telemetry } from '../telemetry/metrics.js';
import { inSpan } from '../telemetry/tracing.js';
import { checkAdminAccess } from './admin-access.js';
import { createDeliveryRuntime, type DeliveryRuntime } from './delivery-runtime.js';

/** The storage connection the archive container is reached through (falls back to AzureWebJobsStorage). */
export const ARCHIVE_CONNECTION = 'ArchiveStorage';

export interface RuntimeOptions {
  /** Clock for discovery windows (tests and the sandbox move it). */
  now?: () => number;
  fetch?: typeof fetch;
  logger?: Logger;
  /** Graph's per-mailbox limits, overridden (benchmarks shrink the 5-minute window to see a steady state). */
  graphLimits?: Partial<MailboxLimits>;
}

export function createRuntime(env: Record<string, string | undefined>, opts: RuntimeOptions = {}) {
  const problems: string[] = [];
  let settings: AppSettings | undefined;
  let lpConfig: LivePersonConfig | undefined;
  try {
    settings = readAppSettings(env);
  } catch (err) {
    problems.push(...(err instanceof ConfigError ? err.problems : [(err as Error).message]));
  }
  try {
    lpConfig = readLivePersonConfig(env);
  } catch (err) {
    const lpProblems = (err as { problems?: unknown }).problems;
    problems.push(...(Array.isArray(lpProblems) ? lpProblems.map(String) : [(err as Error).message]));
  }
  let graphConfig: GraphConfig | undefined;
  try {
    graphConfig = readGraphConfig(env);
  } catch (err) {
    const graphProblems = (err as { problems?: unknown }).problems;
    problems.push(...(Array.isArray(graphProblems) ? graphProblems.map(String) : [(err as Error).message]));
  }
  let storage: StorageClients | undefined;
  let archiveBlobs: BlobServiceClient | undefined;
  try {
    storage = createStorageClients(resolveStorageConnection(env, 'AzureWebJobsStorage'));
    // The archive may live in its own account (ArchiveStorage, identity-based in Azure): write-once, no delete.
    const ownArchive = Object.keys(env).some(
      (k) => k === ARCHIVE_CONNECTION || k.startsWith(`${ARCHIVE_CONNECTION}__`),
    );
    archiveBlobs = ownArchive
      ? createBlobServiceClient(resolveStorageConnection(env, ARCHIVE_CONNECTION, ['blob']))
      : storage.blobs;
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (problems.length || !settings || !lpConfig || !storage || !archiveBlobs) throw new ConfigError(problems);
  const s = settings;
  const now = opts.now ?? Date.now;
  const lp: ArchiverLivePersonClient = createLivePersonClient(lpConfig, {
    now,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  const container = archiveBlobs.getContainerClient(s.ARCHIVE_CONTAINER);
  const queue = storage.queues.getQueueClient(s.ARCHIVE_QUEUE);
  const watermarks = new WatermarkStore(storage.table(s.WATERMARK_TABLE));
  const runs = new DiscoveryRunLog(storage.table(s.WATERMARK_TABLE));
  const failures = new FailureMemory(storage.table(s.FAILURE_TABLE));
  const statusLogFor = (logger: Logger) => new StatusLog(storage.table(s.STATUS_TABLE), logger);
  let containerReady: Promise<unknown> | undefined;
  let queueReady: Promise<unknown> | undefined;
  // The archive container is the template's in Azure, and the app may not be allowed to create containers
  // there (write-once role): a refusal means it is managed elsewhere, not an error.
  const ensureContainer = () =>
    (containerReady ??= container.createIfNotExists().catch((err: unknown) => {
      if ((err as { statusCode?: number }).statusCode !== 403) {
        containerReady = undefined;
        throw err;
      }
    }));
  const stg = storage;
  const delivery: DeliveryRuntime | undefined = graphConfig
    ? createDeliveryRuntime({
        settings: s,
        graph: { ...graphConfig, limits: { ...graphConfig.limits, ...opts.graphLimits } },
        archive: container,
        blobContainer: (name) => stg.blobs.getContainerClient(name),
        queue: (name) => stg.queues.getQueueClient(name),
        table: (name) => stg.table(name),
        statusTable: stg.table(s.STATUS_TABLE),
        ...(opts.logger ? { logger: opts.logger } : {}),
        now,
      })
    : undefined;
  const ensureQueue = () => (queueReady ??= queue.createIfNotExists());

  return {
    settings: s,
    accountId: lpConfig.accountId,
    lp,
    storage,

    async discover(logger: Logger) {
      const startedAt = new Date(now()).toISOString();
      try {
        const r = await this.discoverOnce(logger);
        telemetry.conversation('discovered', r.found);
        telemetry.discoveryLag((now() - r.watermark) / 1000);
        await runs
          .record(lpConfig.accountId, {
            startedAt,
            finishedAt: new Date(now()).toISOString(),
            from: new Date(r.updatedSince).toISOString(),
            to: startedAt,
            found: r.found,
            enqueued: r.enqueued,
            open: r.openNotDue,
            unreadable: r.unreadable,
          })
          .catch((err: unknown) => logger.warn('discovery run not recorded', { error: String(err) }));
        return r;
      } catch (err) {
        await runs
          .record(lpConfig.accountId, {
            startedAt,
            finishedAt: new Date(now()).toISOString(),
            from: startedAt,
            to: startedAt,
            found: 0,
            enqueued: 0,
            open: 0,
            unreadable: 0,
            error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
          })
          .catch(() => {});
        throw err;
      }
    },

    /** The last discovery run of the account (status page, npm start's progress line). */
    lastDiscoveryRun: () => runs.last(lpConfig.accountId),
    watermark: () => watermarks.get(lpConfig.accountId),

    async discoverOnce(logger: Logger) {
      await ensureQueue();
      const statusLog = statusLogFor(logger);
      /** A discovered conversation's row fields, for rows written before it has an item. */
      const rowFields = (entry: { conversationId: string; startTime: number }) => ({
        day: startDay(entry.startTime),
        // The column holds at most 32K characters; the row key is the hash of the whole ID.
        conversationId: entry.conversationId.slice(0, 30_000),
        accountId: lpConfig.accountId,
        conversationStart: new Date(entry.startTime).toISOString(),
      });
      return discoverConversations({
        accountId: lpConfig.accountId,
        lp,
        watermarks,
        enqueue: async (g: ArchiveGroup) => {
          await queue.sendMessage(encodeArchiveGroup(g));
        },
        groupSize: s.ARCHIVE_GROUP_SIZE,
        recordUnqueueable: async (entry, reason) => {
          await statusLog.recordFailed({ ...rowFields(entry), reason });
        },
        recordOpen: async (entry) => {
          await statusLog.recordOpen({ ...rowFields(entry), traceparent: entry.traceparent });
        },
        now,
        logger,
        backfillDays: s.BACKFILL_DAYS,
        overlapMinutes: s.DISCOVERY_OVERLAP_MINUTES,
        archiveOpenAfterHours: s.ARCHIVE_OPEN_AFTER_HOURS,
        enqueueConcurrency: s.DISCOVERY_ENQUEUE_CONCURRENCY,
      });
    },

    /**
     * One archive queue message. `attempt` is the queue's dequeue count; `raw` the body as received (for
     * the fingerprint of a message that cannot be read). A message that cannot be read is recorded, not
     * retried.
     */
    async archive(body: unknown, attempt: number, logger: Logger, raw?: string) {
      await ensureContainer();
      const statusLog = statusLogFor(logger);
      const read = readArchiveMessage(raw ?? body);
      if (!read.ok) {
        return recordUnreadableMessage(read, body, raw, {
          statusLog,
          failures,
          logger,
          queue: s.ARCHIVE_QUEUE,
          now: () => new Date(),
        });
      }
      return archiveGroup(read.group, attempt, {
        lp,
        convert: convertConversation as ConvertFn,
        isPermanentFailure: (err): err is ConversionError => err instanceof ConversionError,
        container,
        statusLog,
        failures,
        logger,
        addressDomain: s.ARCHIVE_ADDRESS_DOMAIN,
        messageIdDomain: s.MESSAGE_ID_DOMAIN,
        enqueue: async (g, delaySeconds) => {
          await queue.sendMessage(
            encodeArchiveGroup(g),
            delaySeconds > 0 ? { visibilityTimeout: delaySeconds } : {},
          );
        },
        maxAttempts: s.ARCHIVE_MAX_ATTEMPTS,
        retryDelaySeconds: s.ARCHIVE_RETRY_DELAY_SECONDS,
        concurrency: s.ARCHIVE_GROUP_CONCURRENCY,
      });
    },

    /** Records an archived item's status row, then (when delivery is on) hands it to delivery planning. */
    async recordBlob(blobName: string, logger: Logger) {
      const props = await container.getBlobClient(blobName).getProperties();
      return inSpan(
        'record status',
        props.metadata?.traceparent,
        { 'lparchiver.blob': blobName },
        async (tp) => {
          const outcome = await recordArchivedBlob(container, blobName, statusLogFor(logger), logger, props);
          if (outcome.recorded && delivery) await delivery.enqueuePlan(blobName, tp);
          return outcome;
        },
      );
    },

    /** Mailbox delivery, undefined when no Graph tenant is configured. */
    delivery,

    /** The poison queue's message: never throws for bad input (only for storage failures). */
    async recordPoison(body: unknown, logger: Logger, raw?: string) {
      return recordPoisonMessage(body, raw, {
        statusLog: statusLogFor(logger),
        failures,
        logger,
        queue: `${s.ARCHIVE_QUEUE}-poison`,
        now: () => new Date(),
      });
    },

    /** Records what ended in `<queue>-poison-poison` (the poison handler itself failed every time). */
    async sweepPoison(logger: Logger) {
      const last = storage.queues.getQueueClient(`${s.ARCHIVE_QUEUE}-poison-poison`);
      return sweepPoisonQueue(
        last,
        (text) =>
          recordPoisonMessage(text, text, {
            statusLog: statusLogFor(logger),
            failures,
            logger,
            queue: last.name,
            now: () => new Date(),
          }),
        logger,
      );
    },

    statusLog: statusLogFor,

    /** What the log downloads need to know about the app (delivery on, today's date). */
    downloadOptions() {
      return { deliveryEnabled: delivery !== undefined, today: new Date(now()).toISOString().slice(0, 10) };
    },

    /**
     * The log downloads behind either door: `sign-in` (Entra ID through App Service Authentication,
     * checked again here) or `key` (a function key, for automation; the host checks it).
     */
    logRequest(
      route: 'log' | 'summary',
      req: { query: Record<string, string>; headers: { get(name: string): string | null } },
      via: 'sign-in' | 'key',
      logger: Logger,
    ): LogResponse {
      if (via === 'sign-in') {
        const access = checkAdminAccess(req.headers, s);
        if (!access.allowed) {
          logger.warn('admin request refused', { route, status: access.status });
          return {
            status: access.status,
            headers: { 'content-type': 'application/json; charset=utf-8' },
            body: JSON.stringify({ error: access.message }),
          };
        }
        logger.info('admin request', { route, user: access.user });
      }
      const log = statusLogFor(logger);
      const options = this.downloadOptions();
      return route === 'log'
        ? downloadItems(req.query, log, logger, options)
        : downloadSummary(req.query, log, logger, options);
    },

    /**
     * The status page (lib/statuspage: properties, state, 30 days, download links) behind either door,
     * checked like the log downloads; its links point back through the same door.
     */
    async statusPage(
      req: { path: string; query: Record<string, string>; headers: { get(name: string): string | null } },
      via: 'sign-in' | 'key',
      logger: Logger,
    ): Promise<LogResponse> {
      if (via === 'sign-in') {
        const access = checkAdminAccess(req.headers, s);
        if (!access.allowed) {
          logger.warn('admin request refused', { route: 'status', status: access.status });
          return messagePage(
            access.status,
            access.status === 401 ? 'Sign-in required' : 'Access refused',
            access.message,
          );
        }
        logger.info('admin request', { route: 'status', user: access.user });
      }
      const log = statusLogFor(logger);
      const queueClient = (name: string) => stg.queues.getQueueClient(name);
      return statusPageResponse(
        {
          properties: connectorProperties(s, {
            accountId: lpConfig.accountId,
            appVersion: appVersion(),
            deliveryImportMode: delivery ? graphConfig?.importMode : undefined,
            now: now(),
          }),
          lastDiscoveryRun: () => runs.last(lpConfig.accountId),
          watermark: async () => (await watermarks.get(lpConfig.accountId))?.value,
          queues: [
            ...queueWithPoison('archive', s.ARCHIVE_QUEUE, queueClient),
            ...(delivery
              ? [
                  ...queueWithPoison('delivery-plan', s.DELIVERY_PLAN_QUEUE, queueClient),
                  ...queueWithPoison('delivery', s.DELIVERY_QUEUE, queueClient),
                ]
              : []),
          ],
          entities: (from, to) => log.entities(from, to),
          now,
        },
        doorLinks(req.path, via, req.query),
        logger,
      );
    },
  };
}

export type AppRuntime = ReturnType<typeof createRuntime>;

let cached: { env: Record<string, string | undefined>; runtime: AppRuntime } | undefined;

/** One runtime per process (the worker loads every function module into one process). */
export function appRuntime(env: Record<string, string | undefined>): AppRuntime {
  if (!cached || cached.env !== env) cached = { env, runtime: createRuntime(env) };
  return cached.runtime;
}

/** Lets tests and the local tools supply a runtime built with their own clock or fetch. */
export function setAppRuntime(env: Record<string, string | undefined>, runtime: AppRuntime): void {
  cached = { env, runtime };
}
