/**
 * One row of the status log: one archived item (conversation version) or one failed conversation.
 * PartitionKey = conversation start day (UTC, yyyy-mm-dd) so a date-range download reads only its days;
 * RowKey = `<conversationId>|<version>` (or `<conversationId>|failed`).
 */
import { z } from 'zod';

export const ITEM_STATUSES = ['archived', 'partial', 'skipped', 'failed'] as const;
export const ItemStatusSchema = z.enum(ITEM_STATUSES);
export type ItemStatus = z.infer<typeof ItemStatusSchema>;

export const FAILED_VERSION = 'failed';

const optionalString = z.string().optional();
const nonNegative = z.coerce.number().int().nonnegative();

export const StatusRowSchema = z
  .object({
    partitionKey: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    rowKey: z.string().min(3),
    conversationId: z.string().min(1),
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
  })
  .loose();
export type StatusRow = z.infer<typeof StatusRowSchema>;

/** Table keys may not contain / \ # ? or control characters. */
export function keyPart(s: string): string {
  return s.replace(
    /[/\\#?%\u0000-\u001f\u007f]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

export function rowKey(conversationId: string, version: string): string {
  return `${keyPart(conversationId)}|${version}`;
}
