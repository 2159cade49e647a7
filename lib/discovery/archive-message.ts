/**
 * The archive queue's messages. Discovery sends groups of conversations (up to ARCHIVE_GROUP_SIZE, at
 * most LivePerson's by-ID limit of 100); the archive step fetches a group with one by-ID call and one
 * Bulk File Download request, and re-enqueues the unfinished part of a group as a new group.
 *
 * Bodies are plain JSON (host.json `messageEncoding: "none"`), every non-ASCII character escaped, so any
 * identifier (lone surrogates included) survives the queue's XML transport unchanged, and no body can
 * fail to decode in the host: whatever arrives is parsed here, and what cannot be read is reported.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { asciiJson } from '../queue/codec.js';

/** LivePerson's by-ID method takes at most 100 conversation IDs. */
export const MAX_GROUP_SIZE = 100;
/** Azure queue messages hold 64 KiB; this leaves room for XML escaping of the JSON text. */
export const MAX_MESSAGE_CHARS = 48 * 1024;

/** W3C trace context, version 00: `00-<trace-id>-<parent-id>-<flags>`. */
export const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A new W3C traceparent (sampled): made at discovery, it follows the conversation to the mailbox. */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

export const ConversationEntrySchema = z.object({
  /** Exactly as LivePerson gave it: never trimmed or case-folded. */
  conversationId: z.string().min(1),
  /** Conversation start, epoch ms (the status log partitions by its UTC day). */
  startTime: z.number().int().nonnegative(),
  /** Latest update LivePerson reported when discovered, epoch ms. */
  updateTime: z.number().int().nonnegative(),
  status: z.enum(['OPEN', 'CLOSE']),
  traceparent: z.string().regex(TRACEPARENT).optional(),
  /** Archive attempts this conversation has already had (earlier messages); 0 when new. */
  attempts: z.number().int().nonnegative().default(0),
  /** Why the last attempt failed, when there was one. */
  lastError: z.string().max(2000).optional(),
});
export type ConversationEntry = z.infer<typeof ConversationEntrySchema>;
export type ConversationEntryInput = z.input<typeof ConversationEntrySchema>;

export const ArchiveGroupSchema = z.object({
  kind: z.literal('archive-group'),
  /** Unique per message (a re-enqueued part gets a new one): the key of its failure memory. */
  messageId: z.uuid(),
  accountId: z.string().min(1),
  discoveredAt: z.iso.datetime(),
  conversations: z.array(ConversationEntrySchema).min(1).max(MAX_GROUP_SIZE),
});
export type ArchiveGroup = z.infer<typeof ArchiveGroupSchema>;

/** The earlier one-conversation message: still read, so messages queued before an upgrade are archived. */
export const ArchiveMessageSchema = z.object({
  conversationId: z.string().min(1),
  accountId: z.string().min(1),
  startTime: z.number().int().nonnegative(),
  updateTime: z.number().int().nonnegative(),
  status: z.enum(['OPEN', 'CLOSE']),
  discoveredAt: z.iso.datetime(),
});
export type ArchiveMessage = z.infer<typeof ArchiveMessageSchema>;

export function newGroup(
  accountId: string,
  discoveredAt: string,
  conversations: readonly ConversationEntryInput[],
): ArchiveGroup {
  return ArchiveGroupSchema.parse({
    kind: 'archive-group',
    messageId: randomUUID(),
    accountId,
    discoveredAt,
    conversations,
  });
}

/** The queue body of a group (validated first, so nothing malformed is ever sent). */
export function encodeArchiveGroup(group: ArchiveGroup): string {
  return asciiJson(ArchiveGroupSchema.parse(group));
}

/** The queue body of one conversation, as a group of one (tests and tools send single conversations). */
export function encodeArchiveMessage(m: ArchiveMessage & { traceparent?: string }): string {
  const { conversationId, startTime, updateTime, status, traceparent } = ArchiveMessageSchema.extend({
    traceparent: z.string().optional(),
  }).parse(m);
  return encodeArchiveGroup(
    newGroup(m.accountId, m.discoveredAt, [
      { conversationId, startTime, updateTime, status, traceparent: traceparent ?? newTraceparent() },
    ]),
  );
}

/** How many characters an entry adds to a group's body (its JSON, with room for XML escaping). */
export function entryChars(entry: ConversationEntryInput): number {
  const json = asciiJson(entry);
  return json.length + 4 * (json.match(/[&<>"']/g)?.length ?? 0) + 1;
}

/** What a queue body turned out to be. Never throws: anything unreadable is described, not raised. */
export type ReadMessage =
  | { ok: true; group: ArchiveGroup }
  | {
      ok: false;
      /** Why it cannot be archived, naming the bad fields. */
      reason: string;
      /** Conversations it still names (a string `conversationId`), so each can get its own row. */
      named: Array<{ conversationId: string; accountId?: string; startTime?: number }>;
      /** Entries it holds that name no conversation (they get an unreadable-message row). */
      unnamed: number;
    };

function parseText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // A body from before messageEncoding "none": base64 of the JSON.
    const compact = text.replace(/\s+/g, '');
    if (compact.length > 0 && compact.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
      try {
        return JSON.parse(Buffer.from(compact, 'base64').toString('utf8'));
      } catch {
        /* not that either */
      }
    }
    return undefined;
  }
}

function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || 'message'}: ${i.message}`)
    .join('; ');
}

/**
 * Reads a queue body as the host hands it over (already JSON-parsed, or text): a group, or an earlier
 * single-conversation message (made a group of one), or a description of why it cannot be read.
 */
export function readArchiveMessage(body: unknown): ReadMessage {
  const value = typeof body === 'string' ? parseText(body) : body;
  if (value === undefined) return { ok: false, reason: 'the message is not JSON', named: [], unnamed: 1 };
  const group = ArchiveGroupSchema.safeParse(value);
  if (group.success) return { ok: true, group: group.data };
  const single = ArchiveMessageSchema.safeParse(value);
  if (single.success) {
    const m = single.data;
    return {
      ok: true,
      group: {
        kind: 'archive-group',
        // Deterministic, so every delivery of this message shares one failure memory.
        messageId: legacyId(m),
        accountId: m.accountId,
        discoveredAt: m.discoveredAt,
        conversations: [
          {
            conversationId: m.conversationId,
            startTime: m.startTime,
            updateTime: m.updateTime,
            status: m.status,
            attempts: 0,
          },
        ],
      },
    };
  }
  // Unreadable as either: name every conversation it still identifies, each gets a `failed` row.
  const v = value as Record<string, unknown> | null;
  const looksGrouped = v !== null && typeof v === 'object' && Array.isArray(v.conversations);
  const reason = `the message is invalid: ${issues(looksGrouped ? group.error : single.error)}`;
  const accountId = v && typeof v === 'object' && typeof v.accountId === 'string' ? v.accountId : undefined;
  const candidates: unknown[] = looksGrouped
    ? (v.conversations as unknown[])
    : v && typeof v === 'object'
      ? [v]
      : [];
  const named = candidates.flatMap((c) => {
    const e = c as Record<string, unknown> | null;
    if (!e || typeof e !== 'object' || typeof e.conversationId !== 'string' || e.conversationId === '')
      return [];
    const start = e.startTime;
    return [
      {
        conversationId: e.conversationId,
        ...(accountId ? { accountId } : {}),
        ...(typeof start === 'number' && Number.isInteger(start) && start >= 0 ? { startTime: start } : {}),
      },
    ];
  });
  return {
    ok: false,
    reason,
    named,
    unnamed: Math.max(candidates.length - named.length, named.length ? 0 : 1),
  };
}

function legacyId(m: ArchiveMessage): string {
  const hex = createHashHex(`${m.accountId}\u0000${m.conversationId}\u0000${m.discoveredAt}`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function createHashHex(s: string): string {
  return createHash('sha256').update(Buffer.from(s, 'utf16le')).digest('hex');
}
