/**
 * The archive step for one queue message: fetch the conversation (with its files and the users
 * directory), convert it, and store the source .json then the .eml, write-once, under a content version.
 *
 * Outcomes: a new version is stored; a version already stored is skipped and counted as a duplicate (and
 * its status row re-recorded, which repairs a crash between blob and log); a record that can't be
 * converted is logged `failed` without retry; anything else throws so the queue retries it.
 */
import type { Readable } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import type { ArchiveMessage } from '../discovery/archive-message.js';
import type { HostedFileProvider } from '../email/contract.js';
import type { LivePersonClient } from '../liveperson/contract.js';
import type { UsersDirectory } from '../liveperson/users-schema.js';
import type { Logger } from '../log.js';
import { recordArchivedBlob } from '../statuslog/record-archived-blob.js';
import type { StatusLog } from '../statuslog/status-log.js';
import { type ItemFacts, itemPaths, startDay, toBlobMetadata } from './blob-layout.js';
import type { FailureMemory } from './failure-memory.js';
import { writeOnce } from './write-once-blob.js';

/** What the archive step uses of the converter's result (lib/email/convert.ts ConversionResult). */
export interface Converted extends Omit<ItemFacts, 'accountId'> {
  accountId: string;
  sourceJson: Buffer;
  eml: Readable;
}

export type ConvertFn = (
  record: unknown,
  opts: {
    users?: UsersDirectory;
    files?: HostedFileProvider;
    addressDomain?: string;
    messageIdDomain?: string;
  },
) => Promise<Converted>;

/** The converter's permanent failure: it carries the conversation and the field at fault. */
export interface PermanentFailure extends Error {
  conversationId?: string;
  field?: string;
}

export interface ArchiveDeps {
  lp: Pick<LivePersonClient, 'getConversationsById' | 'getUsers'> & {
    /** A provider may hold temporary files (downloaded archives): disposed once the .eml is stored. */
    hostedFiles(conversationId: string): HostedFileProvider & { dispose?(): Promise<void> };
  };
  convert: ConvertFn;
  isPermanentFailure(err: unknown): err is PermanentFailure;
  container: ContainerClient;
  statusLog: StatusLog;
  failures: FailureMemory;
  logger: Logger;
  addressDomain?: string | undefined;
  messageIdDomain?: string | undefined;
}

export type ArchiveOutcome =
  | { outcome: 'stored'; version: string; emlPath: string; size: number; sha256: string }
  | { outcome: 'duplicate'; version: string; emlPath: string }
  | { outcome: 'failed'; reason: string };

export async function archiveConversation(
  msg: ArchiveMessage,
  deps: ArchiveDeps,
  attempt = 1,
): Promise<ArchiveOutcome> {
  const { logger } = deps;
  const ctx = { conversationId: msg.conversationId, attempt };
  let files: ReturnType<ArchiveDeps['lp']['hostedFiles']> | undefined;
  try {
    const found = await deps.lp.getConversationsById([msg.conversationId]);
    const record = found.get(msg.conversationId);
    if (record === undefined) {
      // Not (yet) visible by ID: index lag or deleted at source. Retry; the poison handler reports it.
      throw new Error(`Conversation ${msg.conversationId} not found at LivePerson by ID`);
    }
    const users = await deps.lp.getUsers();
    let converted: Converted;
    files = deps.lp.hostedFiles(msg.conversationId);
    try {
      converted = await deps.convert(record, {
        users,
        files,
        ...(deps.addressDomain ? { addressDomain: deps.addressDomain } : {}),
        ...(deps.messageIdDomain ? { messageIdDomain: deps.messageIdDomain } : {}),
      });
    } catch (err) {
      if (!deps.isPermanentFailure(err)) throw err;
      const reason = `cannot convert${err.field ? ` (field ${err.field})` : ''}: ${err.message}`;
      logger.warn('conversation cannot be converted: recorded failed, not retried', {
        ...ctx,
        field: err.field,
      });
      await deps.statusLog.recordFailed({
        day: startDay(msg.startTime),
        conversationId: msg.conversationId,
        accountId: msg.accountId,
        conversationStart: new Date(msg.startTime).toISOString(),
        reason,
        attempts: attempt,
      });
      return { outcome: 'failed', reason };
    }
    const paths = itemPaths(converted.conversationId, converted.startTime, converted.version);
    const metadata = toBlobMetadata(converted);
    const json = await writeOnce(deps.container, paths.json, converted.sourceJson, {
      contentType: 'application/json',
      metadata: () => metadata,
    });
    // The .eml last: its arrival is what the status log records, so it must find the .json already there.
    const eml = await writeOnce(deps.container, paths.eml, converted.eml, {
      contentType: 'message/rfc822',
      metadata: () => metadata,
    });
    await deps.failures.forget(msg.conversationId);
    if (!eml.created) {
      logger.info('version already archived: skipped as duplicate', { ...ctx, version: converted.version });
      // Re-record from the stored blob: repairs a status row lost to a crash after the write.
      await recordArchivedBlob(deps.container, paths.eml, deps.statusLog, logger);
      await deps.statusLog.countDuplicate(
        startDay(converted.startTime),
        converted.conversationId,
        converted.version,
      );
      return { outcome: 'duplicate', version: converted.version, emlPath: paths.eml };
    }
    logger.info('conversation archived', {
      ...ctx,
      version: converted.version,
      size: eml.size,
      jsonCreated: json.created,
      partial: converted.partialReasons.length > 0,
    });
    return {
      outcome: 'stored',
      version: converted.version,
      emlPath: paths.eml,
      size: eml.size,
      sha256: eml.sha256,
    };
  } catch (err) {
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    logger.warn('archive attempt failed, will be retried', { ...ctx, reason });
    await deps.failures.remember(msg.conversationId, reason, attempt).catch(() => {});
    throw err;
  } finally {
    await files
      ?.dispose?.()
      .catch((err: unknown) => logger.warn('hosted files not cleaned up', { ...ctx, err: String(err) }));
  }
}

/** Poison queue handler: the message failed every attempt; account for it in the status log. */
export async function recordArchiveFailure(
  msg: ArchiveMessage,
  deps: { statusLog: StatusLog; failures: FailureMemory; logger: Logger },
  poisonedAt: Date,
): Promise<'recorded' | 'superseded'> {
  const last = await deps.failures.recall(msg.conversationId);
  const reason = last
    ? `failed after ${last.attempts} attempts; last error: ${last.reason}`
    : 'failed after all retries (no error recorded)';
  const outcome = await deps.statusLog.recordFailed({
    day: startDay(msg.startTime),
    conversationId: msg.conversationId,
    accountId: msg.accountId,
    conversationStart: new Date(msg.startTime).toISOString(),
    reason,
    attempts: last?.attempts,
    // A duplicate message that failed after another copy succeeded must not mark the item failed.
    unlessArchivedAfter: msg.discoveredAt < poisonedAt.toISOString() ? msg.discoveredAt : undefined,
  });
  deps.logger.warn('archive message poisoned', { conversationId: msg.conversationId, outcome });
  return outcome;
}
