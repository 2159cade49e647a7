/**
 * One (item, mailbox) delivery. Idempotent: a delivery already done is counted as a duplicate hand-over
 * and not repeated; the importer looks every message up by its Message-ID before creating it, and a
 * create that may or may not have happened (a crash between Graph's answer and our log write, a dropped
 * connection) is resolved by that lookup on the next attempt.
 *
 * Outcomes: delivered (created now, or found in the mailbox after an earlier attempt of ours), duplicate
 * (the mailbox already held it before any attempt), rescheduled (Graph throttled for longer than is
 * worth waiting: the caller puts the message back on the queue for later), failed (permanent errors:
 * no mailbox, access denied). Anything else throws, so the queue retries it; its poison handler records
 * the last error.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { GraphError, GraphThrottledError } from '../graph/errors.js';
import type { Logger } from '../log.js';
import type { DeliveryLog } from '../statuslog/status-log.js';
import { base64Length } from './base64.js';
import type { FolderResolver } from './folders.js';
import { MAX_RAW_PER_REQUEST } from './import-plan.js';
import type { MailboxImporter, StoredItem } from './importer.js';
import { blobItemSource } from './item-source.js';
import type { DeliverMessage } from './messages.js';
import { indexMime, type MimeIndex } from './mime-index.js';

export interface DeliverDeps {
  container: ContainerClient;
  deliveries: DeliveryLog;
  folders: FolderResolver;
  importer: MailboxImporter;
  maxItemBytes: number;
  logger: Logger;
  /** Longest a delivery is rescheduled for throttling before it is failed (count of reschedules). */
  maxReschedules?: number;
  /** How long one delivery attempt holds the (item, mailbox) claim (default 10 minutes). */
  leaseMs?: number;
  /**
   * How long until the mailbox (by user id) has room for a lookup and an upload of this many bytes
   * (the per-mailbox limiter); with `maxBudgetWaitMs`, a longer wait reschedules before any work is done.
   */
  budgetWaitMs?: (userId: string, uploadBytes: number, requests: number) => number;
  maxBudgetWaitMs?: number;
}

export type DeliverOutcome =
  | { outcome: 'delivered' | 'duplicate'; parts: number; reason: string }
  | { outcome: 'already-done' }
  /** Another copy of this delivery is being handled right now (it finishes the job). */
  | { outcome: 'in-progress-elsewhere' }
  | { outcome: 'rescheduled'; afterMs: number }
  | { outcome: 'failed'; reason: string };

/** Graph errors that no retry will fix for this mailbox (until an admin changes something). */
function permanentReason(err: GraphError): string | undefined {
  if (err.transient) return undefined;
  if (err.code === 'MailboxNotEnabledForRESTAPI' || err.code === 'MailboxNotFound')
    return 'the user has no Exchange Online mailbox';
  if (err.status === 403)
    return `access denied by Microsoft Graph (${err.code ?? '403'}): check the app's permissions and its Exchange application RBAC scope`;
  if (err.status === 413) return 'Microsoft Graph refused the request as too large';
  if (err.status === 400) return `Microsoft Graph refused the item: ${err.message}`;
  return undefined;
}

function minimalIndex(messageId: string, size: number): MimeIndex {
  return {
    size,
    bodyStart: 0,
    headers: [{ name: 'Message-ID', value: messageId, raw: `Message-ID: ${messageId}` }],
    contentType: 'multipart/mixed',
    parts: [],
  };
}

/**
 * `owner` identifies this queue message across its retries (its message id): the (item, mailbox) is
 * claimed for it first, so duplicate copies of a delivery never run side by side.
 */
export async function deliverToMailbox(
  msg: DeliverMessage,
  attempt: number,
  deps: DeliverDeps,
  owner: string,
): Promise<DeliverOutcome> {
  const item = { day: msg.day, conversationId: msg.conversationId, itemKey: msg.itemKey };
  const address = msg.mailbox.address;
  const attempts = msg.priorAttempts + attempt;
  const mayReschedule = (msg.reschedules ?? 0) < (deps.maxReschedules ?? 48);
  if (deps.budgetWaitMs && mayReschedule) {
    // A mailbox at its Graph budget: back to the queue at once. Finding that out at the import instead
    // costs a claim, a Graph lookup and three table writes per reschedule (bench:deliver: 2,700 of them).
    const firstRequest = base64Length(Math.min(msg.size, MAX_RAW_PER_REQUEST));
    const wait = deps.budgetWaitMs(msg.mailbox.userId, firstRequest, 2);
    if (wait > (deps.maxBudgetWaitMs ?? 15_000)) {
      deps.logger.debug('mailbox at its Graph budget: delivery rescheduled before starting', {
        conversationId: msg.conversationId,
        mailbox: address,
        afterMs: wait,
      });
      return { outcome: 'rescheduled', afterMs: wait };
    }
  }
  const claimed = await deps.deliveries.claim(item, address, owner, deps.leaseMs ?? 10 * 60_000, attempts);
  if (claimed.claim !== 'claimed') {
    await deps.deliveries.countDuplicate(item, address);
    return claimed.claim === 'done' ? { outcome: 'already-done' } : { outcome: 'in-progress-elsewhere' };
  }
  // The row as it was before this claim: did an earlier attempt already try to create the item?
  const row = claimed.previous;
  let finished = false;
  const ctx = {
    conversationId: msg.conversationId,
    itemKey: msg.itemKey,
    mailbox: address,
    attempt: attempts,
  };
  try {
    const folderId = await deps.folders.folderId(msg.mailbox.userId);
    const blob = deps.container.getBlobClient(msg.blobName);
    const source = blobItemSource(blob, msg.size);
    // Only an item that needs cutting or trimming is read twice (once to index it): a small one is
    // imported straight from the blob.
    const needsIndex = msg.size > MAX_RAW_PER_REQUEST || msg.size > deps.maxItemBytes;
    const index = needsIndex ? await indexMime(await source.open()) : minimalIndex(msg.messageId, msg.size);
    const stored: StoredItem = {
      source,
      index,
      archivePath: `${deps.container.containerName}/${msg.blobName}`,
      sha256: msg.sha256,
      messageId: msg.messageId,
    };
    const result = await deps.importer.import(stored, { user: msg.mailbox.userId, address, folderId });
    const allFound = result.messages.every((m) => m.state === 'found');
    const status = allFound && !row?.createAttemptedAt ? 'duplicate' : 'delivered';
    const notes: string[] = [];
    if (status === 'duplicate') notes.push('already in the mailbox before this delivery');
    if (result.messages.length > 1)
      notes.push(`delivered as ${result.messages.length} parts (the item is larger than one Graph request)`);
    if (result.omitted.length)
      notes.push(
        `partially imported: ${result.omitted.map((o) => o.name).join(', ')} left out (over the mailbox limit); named in the mailbox copy with the archive path and SHA-256`,
      );
    const reason = notes.join('; ');
    await deps.deliveries.finished(item, address, {
      status,
      reason,
      graphMessageIds: result.messages.map((m) => m.graphId),
      parts: result.messages.length,
      omitted: result.omitted.length,
      attempts,
    });
    finished = true;
    deps.logger.debug('item delivered to mailbox', { ...ctx, status, parts: result.messages.length });
    return { outcome: status, parts: result.messages.length, reason };
  } catch (err) {
    if (err instanceof GraphThrottledError && mayReschedule) {
      await deps.deliveries.failedAttempt(
        item,
        address,
        `throttled by Microsoft Graph: ${err.message}`,
        attempts,
        false,
      );
      deps.logger.debug('delivery throttled: rescheduled', { ...ctx, afterMs: err.retryAfterMs });
      return { outcome: 'rescheduled', afterMs: err.retryAfterMs };
    }
    if (err instanceof GraphError) {
      if (err.status === 404 && err.code === 'ErrorItemNotFound')
        await deps.folders.forget(msg.mailbox.userId);
      const permanent = permanentReason(err);
      if (permanent) {
        await deps.deliveries.failedAttempt(item, address, permanent, attempts, true);
        deps.logger.warn('delivery failed for good', { ...ctx, reason: permanent });
        return { outcome: 'failed', reason: permanent };
      }
    }
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    await deps.deliveries.failedAttempt(item, address, reason, attempts, false).catch(() => {});
    deps.logger.warn('delivery attempt failed, will be retried', { ...ctx, reason });
    throw err;
  } finally {
    if (!finished) await deps.deliveries.release(item, address, owner);
  }
}

/** The delivery poison handler: the message failed every attempt; its row becomes `failed`. */
export async function recordDeliveryFailure(
  msg: DeliverMessage,
  deps: Pick<DeliverDeps, 'deliveries' | 'logger'>,
): Promise<void> {
  const item = { day: msg.day, conversationId: msg.conversationId, itemKey: msg.itemKey };
  const row = await deps.deliveries.get(item, msg.mailbox.address);
  if (row && (row.deliveryStatus === 'delivered' || row.deliveryStatus === 'duplicate')) return; // another copy made it
  // Each attempt recorded its count on the row; the poison queue's own count starts again at 1.
  const total = Math.max(row?.attempts ?? 0, msg.priorAttempts + 1);
  const reason = row?.lastError
    ? `failed after ${total} attempts; last error: ${row.lastError}`
    : `failed after ${total} attempts (no error recorded)`;
  await deps.deliveries.failedAttempt(item, msg.mailbox.address, reason, total, true);
  deps.logger.warn('delivery message poisoned', {
    conversationId: msg.conversationId,
    mailbox: msg.mailbox.address,
  });
}
