/**
 * Composition root: validates every setting once, builds the SDK and LivePerson clients once per process,
 * and exposes one entry point per function. functions/* pass `process.env` in; nothing below reads it.
 */

import type { ConvertFn } from '../archive/archive-conversation.js';
import { archiveGroup } from '../archive/archive-group.js';
import { FailureMemory } from '../archive/failure-memory.js';
import { sweepPoisonQueue } from '../archive/poison-sweep.js';
import { recordPoisonMessage, recordUnreadableMessage } from '../archive/record-failures.js';
import { type AppSettings, ConfigError, readAppSettings } from '../config.js';
import { type ArchiveGroup, encodeArchiveGroup, readArchiveMessage } from '../discovery/archive-message.js';
import { discoverConversations } from '../discovery/discover.js';
import { WatermarkStore } from '../discovery/watermark-store.js';
import { ConversionError, convertConversation } from '../email/convert.js';
import { type ArchiverLivePersonClient, createLivePersonClient } from '../liveperson/client.js';
import { type LivePersonConfig, readLivePersonConfig } from '../liveperson/config.js';
import type { Logger } from '../log.js';
import { recordArchivedBlob } from '../statuslog/record-archived-blob.js';
import { StatusLog } from '../statuslog/status-log.js';
import {
  createStorageClients,
  resolveStorageConnection,
  type StorageClients,
} from '../storage/connection.js';

export interface RuntimeOptions {
  /** Clock for discovery windows (tests and the sandbox move it). */
  now?: () => number;
  fetch?: typeof fetch;
  logger?: Logger;
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
  let storage: StorageClients | undefined;
  try {
    storage = createStorageClients(resolveStorageConnection(env, 'AzureWebJobsStorage'));
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (problems.length || !settings || !lpConfig || !storage) throw new ConfigError(problems);
  const s = settings;
  const now = opts.now ?? Date.now;
  const lp: ArchiverLivePersonClient = createLivePersonClient(lpConfig, {
    now,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  const container = storage.blobs.getContainerClient(s.ARCHIVE_CONTAINER);
  const queue = storage.queues.getQueueClient(s.ARCHIVE_QUEUE);
  const watermarks = new WatermarkStore(storage.table(s.WATERMARK_TABLE));
  const failures = new FailureMemory(storage.table(s.FAILURE_TABLE));
  const statusLogFor = (logger: Logger) => new StatusLog(storage.table(s.STATUS_TABLE), logger);
  let containerReady: Promise<unknown> | undefined;
  let queueReady: Promise<unknown> | undefined;
  const ensureContainer = () => (containerReady ??= container.createIfNotExists());
  const ensureQueue = () => (queueReady ??= queue.createIfNotExists());

  return {
    settings: s,
    accountId: lpConfig.accountId,
    lp,
    storage,

    async discover(logger: Logger) {
      await ensureQueue();
      const statusLog = statusLogFor(logger);
      return discoverConversations({
        accountId: lpConfig.accountId,
        lp,
        watermarks,
        enqueue: async (g: ArchiveGroup) => {
          await queue.sendMessage(encodeArchiveGroup(g));
        },
        groupSize: s.ARCHIVE_GROUP_SIZE,
        recordUnqueueable: async (entry, reason) => {
          await statusLog.recordFailed({
            day: new Date(entry.startTime).toISOString().slice(0, 10),
            // The column holds at most 32K characters; the row key is the hash of the whole ID.
            conversationId: entry.conversationId.slice(0, 30_000),
            accountId: lpConfig.accountId,
            conversationStart: new Date(entry.startTime).toISOString(),
            reason,
          });
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

    async recordBlob(blobName: string, logger: Logger) {
      return recordArchivedBlob(container, blobName, statusLogFor(logger), logger);
    },

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
