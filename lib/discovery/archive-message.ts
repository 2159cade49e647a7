/** The queue message discovery sends and the archive step reads: one per conversation to (re)archive. */
import { z } from 'zod';

export const ArchiveMessageSchema = z.object({
  conversationId: z.string().min(1),
  accountId: z.string().min(1),
  /** Conversation start, epoch ms (the status log partitions by its UTC day). */
  startTime: z.number().int().nonnegative(),
  /** Latest update LivePerson reported when discovered, epoch ms. */
  updateTime: z.number().int().nonnegative(),
  status: z.enum(['OPEN', 'CLOSE']),
  discoveredAt: z.iso.datetime(),
});
export type ArchiveMessage = z.infer<typeof ArchiveMessageSchema>;

/** The host's default queue messageEncoding is base64: send what it will decode. */
export function encodeArchiveMessage(m: ArchiveMessage): string {
  return Buffer.from(JSON.stringify(ArchiveMessageSchema.parse(m))).toString('base64');
}

/** The host has already decoded and JSON-parsed the body; validate it and name the bad field. */
export function parseArchiveMessage(body: unknown): ArchiveMessage {
  const parsed = ArchiveMessageSchema.safeParse(typeof body === 'string' ? safeJson(body) : body);
  if (parsed.success) return parsed.data;
  const id =
    typeof body === 'object' && body && 'conversationId' in body ? String(body.conversationId) : '(unknown)';
  const fields = parsed.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ');
  throw new Error(`Archive message for conversation ${id} is invalid: ${fields}`);
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
