/** The delivery stage's queue messages: one plan per stored item, then one delivery per (item, mailbox). */
import { z } from 'zod';

export const PlanMessageSchema = z.object({
  /** The .eml's name in the archive container. */
  blobName: z.string().min(1).max(2048),
  traceparent: z.string().max(128).optional(),
});
export type PlanMessage = z.infer<typeof PlanMessageSchema>;

export const DeliverMessageSchema = z.object({
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  conversationId: z.string(),
  itemKey: z.string().min(1).max(256),
  blobName: z.string().min(1).max(2048),
  messageId: z.string().min(3).max(1000),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  mailbox: z.object({ address: z.string().min(3).max(320), userId: z.string().min(1).max(200) }),
  mappedBy: z.string().max(40),
  traceparent: z.string().max(128).optional(),
  /** Times this delivery was handed back to the queue because Graph throttled it for long. */
  reschedules: z.number().int().nonnegative().default(0),
  /** Attempts used before the latest reschedule (the queue's own count restarts with a new message). */
  priorAttempts: z.number().int().nonnegative().default(0),
});
export type DeliverMessage = z.infer<typeof DeliverMessageSchema>;

export function describeInvalid(kind: string, error: z.ZodError): string {
  return `${kind} message is invalid: ${error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ')}`;
}
