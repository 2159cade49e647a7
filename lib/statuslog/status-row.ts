/**
 * One row of the status log: one archived item (conversation version) or one failed conversation, or one
 * queue message that could not be read at all.
 * PartitionKey = conversation start day (UTC, yyyy-mm-dd) so a date-range download reads only its days (a
 * failure whose start is unknown: the day it failed, and its reason says so);
 * RowKey = `<safeKey(conversationId)>|<itemKey>` (itemKey: the version, or `<version>.partial-<h>`), or
 * `<safeKey(conversationId)>|failed`, or `~unreadable|<SHA-256 of the message body>`. The conversation ID
 * itself, unaltered, is in the `conversationId` column.
 */
import { z } from 'zod';
import { safeKey } from '../ids.js';

/** `open`: found at LivePerson, still open; replaced by the item's row once it closes and is archived. */
export const ITEM_STATUSES = ['archived', 'partial', 'skipped', 'failed', 'open'] as const;
export const ItemStatusSchema = z.enum(ITEM_STATUSES);
export type ItemStatus = z.infer<typeof ItemStatusSchema>;

/**
 * Whether a row stands for a stored item (which deliveries follow), not for a conversation that has none
 * yet: a failure, or a conversation still open at LivePerson.
 */
export function isStoredItem(status: ItemStatus): boolean {
  return status !== 'failed' && status !== 'open';
}

export const FAILED_VERSION = 'failed';
/** The `version` of the row that stands for a conversation still open at LivePerson. */
export const OPEN_VERSION = 'open';
/** The `version` of a row for a queue message that could not be read (no conversation to name). */
export const UNREADABLE_VERSION = 'unreadable';

const optionalString = z.string().optional();
const nonNegative = z.coerce.number().int().nonnegative();

export const StatusRowSchema = z
  .object({
    partitionKey: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    rowKey: z.string().min(3),
    /** Empty only on an unreadable-message row (nothing in the message named a conversation). */
    conversationId: z.string(),
    version: z.string().min(1),
    accountId: optionalString,
    status: ItemStatusSchema,
    reason: optionalString,
    conversationStart: optionalString,
    conversationEnd: optionalString,
    conversationStatus: optionalString,
    archivedAt: optionalString,
    blobPath: optionalString,
    size: nonNegative.optional(),
    sha256: optionalString,
    addresses: optionalString,
    messages: nonNegative.optional(),
    files: nonNegative.optional(),
    filesAttached: nonNegative.optional(),
    participants: nonNegative.optional(),
    /** Times this item was handed to archiving again and skipped because it was already stored. */
    duplicatesSkipped: nonNegative.optional(),
    attempts: nonNegative.optional(),
    /** Unreadable-message rows: the queue, and the SHA-256 and size of the body as received. */
    queue: optionalString,
    bodySha256: optionalString,
    bodySize: nonNegative.optional(),
    traceparent: optionalString,
  })
  .loose();
export type StatusRow = z.infer<typeof StatusRowSchema>;

/** Table keys may not contain / \ # ? or control characters. (Row keys now use safeKey; kept for callers.) */
export function keyPart(s: string): string {
  return s.replace(
    /[/\\#?%\u0000-\u001f\u007f]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** `itemKey` is the item's version (or `<version>.partial-<h>`), or FAILED_VERSION. */
export function rowKey(conversationId: string, itemKey: string): string {
  return `${safeKey(conversationId)}|${itemKey}`;
}

export function unreadableRowKey(bodySha256: string): string {
  return `~${UNREADABLE_VERSION}|${bodySha256.slice(0, 40)}`;
}
