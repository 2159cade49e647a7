/**
 * Archiving one conversation of a group whose record is already fetched: convert it (files from the
 * group's Bulk File Download), then store the source .json and the .eml write-once under
 * `yyyy/mm/dd/<safeKey(conversationId)>/<itemKey>`.
 *
 * Outcomes: `stored`; `duplicate` (the item is already there: its status row is re-recorded, which repairs
 * a crash between blob and log, and the duplicate counted); `failed` (the record can never be converted:
 * recorded `failed` at once); `retry` (anything transient, including a hosted file that could not be had
 * for now: nothing is stored, the caller retries the conversation later, so no item is ever stored without
 * a file that exists).
 */
import type { Readable } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import type { ConversationEntry } from '../discovery/archive-message.js';
import type { HostedFileProvider } from '../email/contract.js';
import { contentVersion } from '../email/version.js';
import type { UsersDirectory } from '../liveperson/users-schema.js';
import type { Logger } from '../log.js';
import { recordArchivedBlob } from '../statuslog/record-archived-blob.js';
import type { StatusLog } from '../statuslog/status-log.js';
import { type ItemFacts, itemPaths, startDay, toBlobMetadata } from './blob-layout.js';
import { writeOnce } from './write-once-blob.js';

/** What the archive step uses of the converter's result (lib/email/convert.ts ConversionResult). */
export interface Converted extends Omit<ItemFacts, 'accountId'> {
  accountId: string;
  sourceJson: Buffer;
  eml: Readable;
  /**
   * The item's name: the version when complete, `<version>.partial-<h>` when files are missing (so a
   * complete item fetched later is stored beside a partial one). Older converters leave it out: version.
   */
  itemKey?: string;
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

export interface StoreDeps {
  convert: ConvertFn;
  isPermanentFailure(err: unknown): err is PermanentFailure;
  container: ContainerClient;
  statusLog: StatusLog;
  logger: Logger;
  addressDomain?: string | undefined;
  messageIdDomain?: string | undefined;
}

export type ConversationOutcome =
  | { outcome: 'stored'; itemKey: string; emlPath: string; size: number; sha256: string; partial: boolean }
  | { outcome: 'duplicate'; itemKey: string; emlPath: string }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'retry'; reason: string };

export function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The record's start as the converter reads it (`info.startTimeL`), when plainly there. */
function recordStart(record: unknown): Date | undefined {
  const v = (record as { info?: { startTimeL?: unknown } } | null)?.info?.startTimeL;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? new Date(n) : undefined;
}

/**
 * If the complete item of this record (`<version>.eml`) is already stored: re-records its status row and
 * counts the duplicate. Checked before any file is fetched, so a retried group spends no LivePerson file
 * calls on what it already has.
 */
export async function alreadyArchived(
  entry: ConversationEntry,
  record: unknown,
  deps: StoreDeps,
): Promise<ConversationOutcome | undefined> {
  const start = recordStart(record);
  if (!start) return undefined;
  const version = contentVersion(record);
  const paths = itemPaths(entry.conversationId, start, version);
  if (!(await deps.container.getBlobClient(paths.eml).exists())) return undefined;
  await recordDuplicate(entry, paths.eml, start, version, deps);
  return { outcome: 'duplicate', itemKey: version, emlPath: paths.eml };
}

async function recordDuplicate(
  entry: ConversationEntry,
  emlPath: string,
  start: Date,
  itemKey: string,
  deps: StoreDeps,
): Promise<void> {
  deps.logger.debug('item already archived: skipped as duplicate', {
    conversationId: entry.conversationId,
    itemKey,
  });
  // Re-record from the stored blob: repairs a status row lost to a crash after the write.
  await recordArchivedBlob(deps.container, emlPath, deps.statusLog, deps.logger);
  await deps.statusLog.countDuplicate(startDay(start), entry.conversationId, itemKey);
}

export async function recordConversationFailed(
  entry: ConversationEntry,
  accountId: string,
  reason: string,
  attempts: number,
  deps: Pick<StoreDeps, 'statusLog'>,
  unlessArchivedAfter?: string,
): Promise<'recorded' | 'superseded'> {
  return deps.statusLog.recordFailed({
    day: startDay(entry.startTime),
    conversationId: entry.conversationId,
    accountId,
    conversationStart: new Date(entry.startTime).toISOString(),
    reason,
    attempts,
    traceparent: entry.traceparent,
    unlessArchivedAfter,
  });
}

/** Converts and stores one conversation of a group. Never throws for the conversation's own problems. */
export async function archiveConversation(
  entry: ConversationEntry,
  accountId: string,
  record: unknown,
  ctx: { users: UsersDirectory; files: HostedFileProvider; attempt: number },
  deps: StoreDeps,
): Promise<ConversationOutcome> {
  const { logger } = deps;
  const log = { conversationId: entry.conversationId, attempt: ctx.attempt };
  // A file the provider could not give for now must not become a "missing" file in a stored item, whatever
  // the converter does with the error: note it, and retry the conversation instead of storing it.
  let fileError: unknown;
  const files: HostedFileProvider = async (ref) => {
    try {
      return await ctx.files(ref);
    } catch (err) {
      fileError ??= err;
      throw err;
    }
  };
  let converted: Converted;
  try {
    converted = await deps.convert(record, {
      users: ctx.users,
      files,
      ...(deps.addressDomain ? { addressDomain: deps.addressDomain } : {}),
      ...(deps.messageIdDomain ? { messageIdDomain: deps.messageIdDomain } : {}),
    });
  } catch (err) {
    if (fileError === undefined && deps.isPermanentFailure(err)) {
      const reason = `cannot convert${err.field ? ` (field ${err.field})` : ''}: ${err.message}`;
      logger.warn('conversation cannot be converted: recorded failed, not retried', {
        ...log,
        field: err.field,
      });
      await recordConversationFailed(entry, accountId, reason, ctx.attempt, deps);
      return { outcome: 'failed', reason };
    }
    if (fileError !== undefined)
      return { outcome: 'retry', reason: `hosted files not available for now: ${describeError(fileError)}` };
    return { outcome: 'retry', reason: describeError(err) };
  }
  if (fileError !== undefined) {
    converted.eml.destroy();
    return { outcome: 'retry', reason: `hosted files not available for now: ${describeError(fileError)}` };
  }
  try {
    // Keys and metadata use the ID exactly as LivePerson gave it (never a normalised form).
    const facts = { ...converted, conversationId: entry.conversationId };
    const itemKey = converted.itemKey ?? converted.version;
    const paths = itemPaths(entry.conversationId, converted.startTime, itemKey);
    const metadata = {
      ...toBlobMetadata(facts),
      ...(entry.traceparent ? { traceparent: entry.traceparent } : {}),
      attempts: String(ctx.attempt),
    };
    // No HEAD first: the group checked for this item a moment ago (alreadyArchived), and the conditional
    // writes keep a racing or repeated copy out anyway.
    const json = await writeOnce(deps.container, paths.json, converted.sourceJson, {
      contentType: 'application/json',
      metadata: () => metadata,
      precheck: false,
    });
    // The .eml last: its arrival is what the status log records, so it must find the .json already there.
    const eml = await writeOnce(deps.container, paths.eml, converted.eml, {
      contentType: 'message/rfc822',
      metadata: () => metadata,
      precheck: false,
    });
    if (!eml.created) {
      await recordDuplicate(entry, paths.eml, converted.startTime, itemKey, deps);
      return { outcome: 'duplicate', itemKey, emlPath: paths.eml };
    }
    const partial = converted.partialReasons.length > 0;
    logger.debug('conversation archived', {
      ...log,
      itemKey,
      size: eml.size,
      jsonCreated: json.created,
      partial,
    });
    return { outcome: 'stored', itemKey, emlPath: paths.eml, size: eml.size, sha256: eml.sha256, partial };
  } catch (err) {
    converted.eml.destroy();
    return { outcome: 'retry', reason: describeError(err) };
  }
}
