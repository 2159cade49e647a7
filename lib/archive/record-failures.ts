/**
 * Accounting for messages that cannot be archived: every queue message ends in exactly one status row per
 * conversation it names, or, when it names none, one "unreadable message" row with the SHA-256 and size
 * of its body. Nothing here throws for bad input; only a storage failure throws (the queue then retries,
 * and the poison sweep catches what fails twice).
 */
import { createHash } from 'node:crypto';
import { type ArchiveGroup, type ReadMessage, readArchiveMessage } from '../discovery/archive-message.js';
import type { Logger } from '../log.js';
import type { StatusLog } from '../statuslog/status-log.js';
import { recordConversationFailed } from './archive-conversation.js';
import { startDay } from './blob-layout.js';
import type { FailureMemory } from './failure-memory.js';

export interface FailureDeps {
  statusLog: StatusLog;
  failures: FailureMemory;
  logger: Logger;
  /** The queue the message came from, named in unreadable rows. */
  queue: string;
  now(): Date;
}

/** The body as text, for its fingerprint: the raw text when the host gives it, else its JSON. */
function bodyText(body: unknown, raw: string | undefined): string {
  if (typeof raw === 'string') return raw;
  if (typeof body === 'string') return body;
  try {
    return JSON.stringify(body) ?? String(body);
  } catch {
    return String(body);
  }
}

/**
 * Rows for a message that cannot be read as a group: a `failed` row for each conversation it still names
 * (under its start day, or the day it failed when the start is unreadable: the reason says so), and an
 * unreadable-message row when it names none.
 */
export async function recordUnreadableMessage(
  read: Extract<ReadMessage, { ok: false }>,
  body: unknown,
  raw: string | undefined,
  deps: FailureDeps,
): Promise<'recorded' | 'unreadable'> {
  const now = deps.now();
  const today = now.toISOString().slice(0, 10);
  for (const n of read.named) {
    const known = n.startTime !== undefined;
    await deps.statusLog.recordFailed({
      day: known ? startDay(n.startTime!) : today,
      conversationId: n.conversationId,
      accountId: n.accountId,
      conversationStart: known ? new Date(n.startTime!).toISOString() : undefined,
      reason: `archive message for conversation ${n.conversationId} cannot be read: ${read.reason}${
        known ? '' : ' (its start time is unreadable, so it is listed under the day it failed)'
      }`,
    });
  }
  if (read.named.length > 0) {
    deps.logger.warn('archive message unreadable: its conversations recorded failed', {
      queue: deps.queue,
      conversations: read.named.length,
      reason: read.reason,
    });
    // Entries naming no conversation still leave a trace: the message's own row below.
    if (read.unnamed === 0) return 'recorded';
  }
  const text = bodyText(body, raw);
  const bytes = Buffer.from(text, 'utf8');
  const bodySha256 = createHash('sha256').update(bytes).digest('hex');
  await deps.statusLog.recordUnreadable({
    day: today,
    queue: deps.queue,
    bodySha256,
    bodySize: bytes.length,
    reason: `queue message could not be read: ${read.reason}; it names no conversation (body SHA-256 ${bodySha256}, ${bytes.length} bytes, queue ${deps.queue}, at ${now.toISOString()})`,
    at: now.toISOString(),
  });
  deps.logger.error('unreadable archive message recorded in the status log', {
    queue: deps.queue,
    bodySha256,
    bodySize: bytes.length,
    reason: read.reason,
  });
  return 'unreadable';
}

/** A group that failed every delivery: one `failed` row per conversation, with the last error. */
export async function recordPoisonedGroup(
  group: ArchiveGroup,
  deps: FailureDeps,
): Promise<'recorded' | 'superseded'> {
  const last = await deps.failures.recall(group.messageId);
  const poisonedAt = deps.now().toISOString();
  let outcome: 'recorded' | 'superseded' = 'superseded';
  for (const entry of group.conversations) {
    const attempts = entry.attempts + (last?.attempts ?? 0);
    const reason = last
      ? `failed after ${attempts} attempts; last error: ${last.reason}`
      : entry.lastError
        ? `failed after all retries; last error: ${entry.lastError}`
        : 'failed after all retries (no error recorded)';
    const r = await recordConversationFailed(
      entry,
      group.accountId,
      reason,
      Math.max(1, attempts),
      deps,
      // A duplicate message that failed after another copy succeeded must not mark the item failed.
      group.discoveredAt < poisonedAt ? group.discoveredAt : undefined,
    );
    if (r === 'recorded') outcome = 'recorded';
  }
  await deps.failures.forget(group.messageId);
  deps.logger.warn('archive message poisoned', {
    messageId: group.messageId,
    conversations: group.conversations.length,
    outcome,
  });
  return outcome;
}

/** The poison queue's handler: whatever the body, it ends in rows. */
export async function recordPoisonMessage(
  body: unknown,
  raw: string | undefined,
  deps: FailureDeps,
): Promise<'recorded' | 'superseded' | 'unreadable'> {
  const read = readArchiveMessage(raw ?? body);
  if (read.ok) return recordPoisonedGroup(read.group, deps);
  return recordUnreadableMessage(read, body, raw, deps);
}
