/**
 * One row per (item, mailbox) delivery, in the status table beside the item's own row, so a date-range
 * read of the log sees both: PartitionKey = the item's day; RowKey = `<item row key>|m|<mailbox key>`.
 * An item that maps to no mailbox has one `unmapped` row with the mailbox key `~none`.
 */
import { z } from 'zod';
import { safeKey } from '../ids.js';
import { rowKey } from './status-row.js';

export const DELIVERY_STATUSES = ['pending', 'delivered', 'duplicate', 'unmapped', 'failed'] as const;
export const DeliveryStatusSchema = z.enum(DELIVERY_STATUSES);
export type DeliveryStatus = z.infer<typeof DeliveryStatusSchema>;

/** The item a delivery belongs to (the keys of its status row). */
export interface ItemRef {
  day: string;
  conversationId: string;
  itemKey: string;
}

export const NO_MAILBOX = '~none';

export function deliveryRowKey(item: ItemRef, mailbox: string | undefined): string {
  return `${rowKey(item.conversationId, item.itemKey)}|m|${mailbox ? safeKey(mailbox.toLowerCase()) : NO_MAILBOX}`;
}

const count = z.coerce.number().int().nonnegative();

export const DeliveryRowSchema = z
  .object({
    partitionKey: z.string(),
    rowKey: z.string(),
    kind: z.literal('delivery'),
    conversationId: z.string(),
    itemKey: z.string(),
    /** The mailbox's address ('' for an unmapped item). */
    mailbox: z.string(),
    deliveryStatus: DeliveryStatusSchema,
    /** When the status was set (ISO). */
    deliveryTime: z.string(),
    deliveryReason: z.string().optional(),
    /** How the mailbox was chosen: automatic, mapping file, fallback. */
    mappedBy: z.string().optional(),
    attempts: count.optional(),
    /** Set before the first create call: a later `found` was then made by this delivery. */
    createAttemptedAt: z.string().optional(),
    graphMessageIds: z.string().optional(),
    parts: count.optional(),
    /** Files left out of the mailbox copy (over the mailbox limit): the delivery was a partial import. */
    omitted: count.optional(),
    duplicatesSkipped: count.optional(),
    lastError: z.string().optional(),
    /** Who is delivering right now (the queue message id) and until when: one delivery at a time. */
    leaseOwner: z.string().optional(),
    leaseUntil: z.string().optional(),
  })
  .loose();
export type DeliveryRow = z.infer<typeof DeliveryRowSchema>;
