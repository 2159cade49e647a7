/**
 * The archive step for one queue message: a group of conversations, fetched with one by-ID call and one
 * Bulk File Download request, then converted and stored each on its own (archive-conversation.ts).
 * Exactly-once effects come from the write-once blobs: a retried group writes only what is missing, and
 * checks for each stored complete item before spending file calls on it.
 *
 * Per conversation, inside a group: a record that can never be converted is recorded `failed` at once; a
 * transient problem (not yet visible by ID, a file not available for now, a storage hiccup) puts the
 * conversation in a new message with the other unfinished ones, after a delay, with its attempt count
 * and last error, so the others never redo their LivePerson calls. At ARCHIVE_MAX_ATTEMPTS it is
 * recorded `failed` with its last error.
 *
 * A group that fails as a whole (the process stopped, LivePerson refused the by-ID request) is split in
 * halves before anything goes to the poison queue, so one bad conversation never holds the others back
 * and still ends as exactly one `failed` row with its reason. Failures that hit every conversation alike
 * (LivePerson or storage unavailable) are retried whole by the queue instead.
 */
import { RestError } from '@azure/storage-blob';
import pLimit from 'p-limit';
import { type ArchiveGroup, type ConversationEntry, newGroup } from '../discovery/archive-message.js';
import { LivePersonError } from '../liveperson/errors.js';
import type { FileGroup, FileGroupMember } from '../liveperson/hosted-files.js';
import { hostedFilePaths } from '../liveperson/hosted-files.js';
import type { UsersDirectory } from '../liveperson/users-schema.js';
import {
  alreadyArchived,
  archiveConversation,
  type ConversationOutcome,
  describeError,
  recordConversationFailed,
  type StoreDeps,
} from './archive-conversation.js';
import type { FailureMemory } from './failure-memory.js';

/** Blob metadata (8 KiB in all) must hold the ID percent-encoded beside the addresses. */
export const MAX_ENCODED_ID_CHARS = 2048;
/** A re-enqueued conversation waits ARCHIVE_RETRY_DELAY_SECONDS × 2^(attempt-1), at most this long. */
const MAX_RETRY_DELAY_S = 15 * 60;

export interface GroupDeps extends StoreDeps {
  lp: {
    getConversationsById(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, unknown>>;
    getUsers(signal?: AbortSignal): Promise<UsersDirectory>;
    hostedFilesOf(members: readonly FileGroupMember[]): FileGroup;
  };
  failures: FailureMemory;
  /** Sends a group to the archive queue, invisible for `delaySeconds`. */
  enqueue(group: ArchiveGroup, delaySeconds: number): Promise<void>;
  /** Attempts per conversation before it is recorded `failed` (ARCHIVE_MAX_ATTEMPTS). */
  maxAttempts: number;
  retryDelaySeconds: number;
  /** Conversations of a group converted at a time. */
  concurrency: number;
  /** Aborted when the invocation must stop (timeout, shutdown): the group then fails as a whole. */
  signal?: AbortSignal;
}

export interface GroupResult {
  stored: number;
  duplicates: number;
  failed: number;
  retried: number;
  /** The group was split in halves (re-enqueued) instead of processed. */
  split: boolean;
}

/** Percent-encoded length of an ID in blob metadata (a lone surrogate takes 6). */
function encodedLength(id: string): number {
  let n = 0;
  for (const ch of id) {
    const c = ch.codePointAt(0)!;
    if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff) n += 6;
    else if (/[A-Za-z0-9\-_.!~*'()]/.test(ch)) n += 1;
    else n += 3 * Buffer.byteLength(ch, 'utf8');
  }
  return n;
}

/** Whether a failure of the whole group may be one conversation's doing, so that splitting can isolate it. */
function splittable(err: unknown): boolean {
  if (err instanceof LivePersonError) return err.endpoint === 'byId' && !err.transient;
  if (err instanceof RestError) return false;
  return true;
}

export async function archiveGroup(
  msg: ArchiveGroup,
  delivery: number,
  deps: GroupDeps,
): Promise<GroupResult> {
  const result: GroupResult = { stored: 0, duplicates: 0, failed: 0, retried: 0, split: false };
  if (delivery > 1 && msg.conversations.length > 1) {
    // This message failed as a whole before. Unless that failure hit every conversation alike, split it.
    const last = await deps.failures.recall(msg.messageId);
    if (!last || last.splittable) {
      const reason =
        last?.reason ?? 'the whole group failed without an error (the process stopped or timed out)';
      await splitGroup(msg, delivery - 1, reason, deps, result);
      await deps.failures.forget(msg.messageId);
      return result;
    }
  }
  try {
    await processGroup(msg, delivery, deps, result);
    // A failure remembered from an earlier delivery is no longer anyone's concern.
    if (delivery > 1) await deps.failures.forget(msg.messageId).catch(() => {});
    return result;
  } catch (err) {
    // Remembered for the next delivery (split or not) and for the poison handler's `failed` rows.
    await deps.failures
      .remember(msg.messageId, describeError(err), delivery, splittable(err))
      .catch(() => {});
    deps.logger.warn('archive group failed as a whole, will be retried', {
      messageId: msg.messageId,
      conversations: msg.conversations.length,
      delivery,
      reason: describeError(err),
    });
    throw err;
  }
}

/** Halves of the group as two new messages; each conversation's failed deliveries are added to its count. */
async function splitGroup(
  msg: ArchiveGroup,
  failedDeliveries: number,
  reason: string,
  deps: GroupDeps,
  result: GroupResult,
): Promise<void> {
  const entries = msg.conversations.map((e) => ({
    ...e,
    attempts: e.attempts + failedDeliveries,
    ...(failedDeliveries > 0 ? { lastError: reason.slice(0, 2000) } : {}),
  }));
  const live: ConversationEntry[] = [];
  for (const e of entries) {
    if (e.attempts >= deps.maxAttempts) {
      await recordConversationFailed(
        e,
        msg.accountId,
        failedAfter(e.attempts, reason),
        e.attempts,
        deps,
        msg.discoveredAt,
      );
      result.failed++;
    } else live.push(e);
  }
  const mid = Math.ceil(live.length / 2);
  for (const half of [live.slice(0, mid), live.slice(mid)]) {
    if (half.length) await deps.enqueue(newGroup(msg.accountId, msg.discoveredAt, half), 0);
  }
  result.split = true;
  deps.logger.info('archive group split in halves to isolate a failing conversation', {
    messageId: msg.messageId,
    conversations: live.length,
    reason,
  });
}

function failedAfter(attempts: number, reason: string): string {
  return `failed after ${attempts} attempt${attempts === 1 ? '' : 's'}; last error: ${reason}`;
}

async function processGroup(msg: ArchiveGroup, delivery: number, deps: GroupDeps, result: GroupResult) {
  const { logger, signal } = deps;
  const retries: Array<{ entry: ConversationEntry; reason: string }> = [];
  const settle = async (entry: ConversationEntry, outcome: ConversationOutcome) => {
    if (outcome.outcome === 'stored') result.stored++;
    else if (outcome.outcome === 'duplicate') result.duplicates++;
    else if (outcome.outcome === 'failed') result.failed++;
    else retries.push({ entry, reason: outcome.reason });
  };

  const entries: ConversationEntry[] = [];
  for (const e of msg.conversations) {
    const length = encodedLength(e.conversationId);
    if (length > MAX_ENCODED_ID_CHARS) {
      const reason = `conversation ID is too long to archive (${length} characters encoded; at most ${MAX_ENCODED_ID_CHARS})`;
      await recordConversationFailed(e, msg.accountId, reason, e.attempts + 1, deps);
      result.failed++;
    } else entries.push(e);
  }
  if (entries.length === 0) return;

  let found: Map<string, unknown>;
  try {
    found = await deps.lp.getConversationsById(
      entries.map((e) => e.conversationId),
      signal,
    );
  } catch (err) {
    if (!(err instanceof LivePersonError) || err.transient) throw err;
    // LivePerson refused the request or its answer (a 4xx, over the size limit, malformed): that will
    // not change on a retry. Split the group to find the conversation at fault; alone, it is failed.
    const reason = describeError(err);
    if (entries.length > 1) {
      await splitGroup({ ...msg, conversations: entries }, 0, reason, deps, result);
      return;
    }
    await recordConversationFailed(entries[0]!, msg.accountId, reason, entries[0]!.attempts + delivery, deps);
    result.failed++;
    return;
  }
  const users = await deps.lp.getUsers(signal);

  const pending: Array<{ entry: ConversationEntry; record: unknown }> = [];
  for (const entry of entries) {
    const record = found.get(entry.conversationId);
    if (record === undefined) {
      // Not (yet) visible by ID: index lag, or deleted at source. Retried; at the limit, recorded failed.
      retries.push({ entry, reason: `Conversation ${entry.conversationId} not found at LivePerson by ID` });
      continue;
    }
    try {
      const done = await alreadyArchived(entry, record, deps);
      if (done) {
        await settle(entry, done);
        continue;
      }
    } catch (err) {
      retries.push({ entry, reason: describeError(err) });
      continue;
    }
    pending.push({ entry, record });
  }

  if (pending.length > 0) {
    const files = deps.lp.hostedFilesOf(
      pending.map(({ entry, record }) => ({
        conversationId: entry.conversationId,
        relativePaths: hostedFilePaths(record),
      })),
    );
    const limit = pLimit(Math.max(1, deps.concurrency));
    try {
      await Promise.all(
        pending.map(({ entry, record }) =>
          limit(async () => {
            // Between conversations: an invocation told to stop fails as a whole (what is stored stays).
            signal?.throwIfAborted();
            const outcome = await archiveConversation(
              entry,
              msg.accountId,
              record,
              { users, files: files.provider(entry.conversationId), attempt: entry.attempts + delivery },
              deps,
            );
            await settle(entry, outcome);
            signal?.throwIfAborted();
          }),
        ),
      );
    } finally {
      await files
        .dispose()
        .catch((err: unknown) =>
          logger.warn('hosted files not cleaned up', { messageId: msg.messageId, err: String(err) }),
        );
    }
  }

  // The unfinished part goes on as a new message; this one completes.
  const again: ConversationEntry[] = [];
  for (const { entry, reason } of retries) {
    const attempts = entry.attempts + delivery;
    if (attempts >= deps.maxAttempts) {
      await recordConversationFailed(
        entry,
        msg.accountId,
        failedAfter(attempts, reason),
        attempts,
        deps,
        msg.discoveredAt,
      );
      result.failed++;
    } else {
      again.push({ ...entry, attempts, lastError: reason.slice(0, 2000) });
      logger.debug('conversation will be retried', {
        conversationId: entry.conversationId,
        attempts,
        reason,
      });
    }
  }
  if (again.length > 0) {
    const first = Math.min(...again.map((e) => e.attempts));
    const delay = Math.min(MAX_RETRY_DELAY_S, deps.retryDelaySeconds * 2 ** Math.max(0, first - 1));
    await deps.enqueue(newGroup(msg.accountId, msg.discoveredAt, again), delay);
    result.retried = again.length;
  }
}
