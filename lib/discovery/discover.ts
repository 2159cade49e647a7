/**
 * One discovery run for one LivePerson account: find every conversation updated since the watermark
 * (minus an overlap), enqueue them in groups (one archive message per group of up to `groupSize`
 * conversations, each with a W3C traceparent), then advance the watermark.
 *
 * Why this never skips a conversation:
 * - the new watermark is the run's start time, taken before searching; an update at time t is visible to
 *   search by t + index lag (≤ 1 min), so the next run, which searches from watermark − overlap
 *   (overlap ≫ lag + clock skew), sees every update this run might not have seen;
 * - LivePerson rounds `updatedSince` down to 10 minutes, which only widens the window;
 * - the watermark moves only after every message of the window is enqueued; a crash re-does the window
 *   (duplicates are skipped downstream by content version; misses could not be repaired);
 * - the start window spans LivePerson's whole 13-month retention, because a late change (survey,
 *   redaction) can touch a conversation that started months ago.
 */
import pLimit from 'p-limit';
import { z } from 'zod';
import type { LivePersonClient } from '../liveperson/contract.js';
import type { Logger } from '../log.js';
import {
  type ArchiveGroup,
  type ConversationEntryInput,
  entryChars,
  MAX_GROUP_SIZE,
  MAX_MESSAGE_CHARS,
  newGroup,
  newTraceparent,
} from './archive-message.js';
import type { Watermark } from './watermark-store.js';

export const DAY_MS = 86_400_000;
/**
 * Discovery reads `info` only. LivePerson's contentToRetrieve is all-or-nothing, so one small container
 * keeps search answers small (and no record comes cut with `isPartial`, which would cost a by-ID refetch).
 */
export const DISCOVERY_CONTENT = ['summary'] as const;
/** LivePerson keeps conversations 13 months; 395 days covers it with room for month lengths. */
export const RETENTION_MS = 395 * DAY_MS;

export interface DiscoveryDeps {
  accountId: string;
  lp: Pick<LivePersonClient, 'searchConversations'>;
  watermarks: {
    get(accountId: string): Promise<Watermark | undefined>;
    advance(accountId: string, value: number, previous: Watermark | undefined): Promise<number>;
  };
  /** Sends one group message to the archive queue. */
  enqueue(group: ArchiveGroup): Promise<void>;
  /** Conversations per message (default and maximum 100, LivePerson's by-ID limit). */
  groupSize?: number;
  /**
   * Accounts for a conversation whose ID is too long to queue at all (a `failed` row); without it such a
   * conversation is only logged as an error.
   */
  recordUnqueueable?(entry: ConversationEntryInput, reason: string): Promise<void>;
  /**
   * Accounts for a conversation still open at LivePerson and not due for an interim item (an `open` row).
   * With it, discovery also searches open conversations; without it, only closed ones (and due open ones).
   */
  recordOpen?(entry: { conversationId: string; startTime: number; traceparent: string }): Promise<void>;
  now(): number;
  logger: Logger;
  backfillDays: number;
  overlapMinutes: number;
  archiveOpenAfterHours?: number | undefined;
  enqueueConcurrency?: number;
  signal?: AbortSignal;
}

export interface DiscoveryResult {
  accountId: string;
  updatedSince: number;
  watermark: number;
  found: number;
  /** Conversations enqueued, and the group messages that carried them. */
  enqueued: number;
  groups: number;
  openNotDue: number;
  unreadable: number;
}

/** Only what discovery needs from a search record; the converter validates the rest later. */
const SearchInfoSchema = z.object({
  info: z
    .object({
      conversationId: z.string().min(1),
      startTimeL: z.coerce.number().int().nonnegative(),
      endTimeL: z.coerce.number().optional(),
      latestUpdateTime: z.coerce.number().optional(),
      status: z.enum(['OPEN', 'CLOSE']),
    })
    .loose(),
});

/** The record's conversation ID exactly as given (a whitespace-only ID is still an ID). */
function idOf(raw: unknown): string | undefined {
  const id = (raw as { info?: { conversationId?: unknown } } | null)?.info?.conversationId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Room a group's envelope (kind, messageId, accountId, discoveredAt) takes in a message. */
const ENVELOPE_CHARS = 512;
/** An entry longer than this cannot share a message sensibly; far beyond any real conversation ID. */
const MAX_ENTRY_CHARS = 16 * 1024;

// Dedupe within a run only up to this many IDs: beyond it duplicates are merely harmless extra messages,
// and memory stays bounded on a 13-month backfill.
const DEDUPE_LIMIT = 200_000;

export async function discoverConversations(deps: DiscoveryDeps): Promise<DiscoveryResult> {
  const { accountId, logger } = deps;
  const runStart = deps.now();
  const oldest = runStart - RETENTION_MS;
  const previous = await deps.watermarks.get(accountId);
  const base = previous?.value ?? runStart - deps.backfillDays * DAY_MS;
  const updatedSince = Math.max(oldest, base - deps.overlapMinutes * 60_000);
  const openAfterMs =
    deps.archiveOpenAfterHours !== undefined ? deps.archiveOpenAfterHours * 3_600_000 : undefined;
  const limit = pLimit(deps.enqueueConcurrency ?? 16);
  const groupSize = Math.min(MAX_GROUP_SIZE, Math.max(1, deps.groupSize ?? MAX_GROUP_SIZE));
  const seen = new Set<string>();
  const result: DiscoveryResult = {
    accountId,
    updatedSince,
    watermark: previous?.value ?? base,
    found: 0,
    enqueued: 0,
    groups: 0,
    openNotDue: 0,
    unreadable: 0,
  };
  const discoveredAt = new Date(runStart).toISOString();
  const sends: Promise<void>[] = [];
  let pending: ConversationEntryInput[] = [];
  let pendingChars = ENVELOPE_CHARS;

  const flush = () => {
    if (pending.length === 0) return;
    const group = newGroup(accountId, discoveredAt, pending);
    pending = [];
    pendingChars = ENVELOPE_CHARS;
    const send = limit(async () => {
      await deps.enqueue(group);
      result.enqueued += group.conversations.length;
      result.groups++;
    });
    send.catch(() => {}); // awaited below, before the watermark moves
    sends.push(send);
  };

  const add = async (entry: ConversationEntryInput) => {
    const chars = entryChars(entry);
    if (chars > MAX_ENTRY_CHARS) {
      const reason = `conversation ID of ${entry.conversationId.length} characters is too long to queue for archiving`;
      if (deps.recordUnqueueable) await deps.recordUnqueueable(entry, reason);
      else logger.error(reason, { idLength: entry.conversationId.length });
      return;
    }
    if (pending.length >= groupSize || pendingChars + chars > MAX_MESSAGE_CHARS) flush();
    pending.push(entry);
    pendingChars += chars;
    if (pending.length >= groupSize) flush();
  };

  const consume = async (records: unknown[]) => {
    for (const raw of records) {
      result.found++;
      const parsed = SearchInfoSchema.safeParse(raw);
      if (!parsed.success) {
        const field = parsed.error.issues[0]?.path.join('.') ?? 'info';
        const id = idOf(raw);
        if (id === undefined) {
          // Nothing identifies it, so nothing can fetch or log it later: say so loudly and go on.
          result.unreadable++;
          logger.error('search result without a conversation id skipped', { field });
          continue;
        }
        // The archive step fetches it by ID; if the record really is malformed the converter reports it
        // `failed` with the field, so it shows in the status log instead of blocking discovery.
        logger.warn('search result partly unreadable, enqueued for the archive step to judge', {
          conversationId: id,
          field,
        });
        if (seen.has(id)) continue;
        if (seen.size < DEDUPE_LIMIT) seen.add(id);
        await add({
          conversationId: id,
          startTime: runStart,
          updateTime: runStart,
          status: 'CLOSE',
          traceparent: newTraceparent(),
        });
        continue;
      }
      const info = parsed.data.info;
      if (info.status === 'OPEN' && (openAfterMs === undefined || info.startTimeL > runStart - openAfterMs)) {
        result.openNotDue++;
        const { recordOpen } = deps;
        // Not added to `seen`: the row is idempotent, and a closed record of the same ID must still be queued.
        if (recordOpen) {
          const entry = {
            conversationId: info.conversationId,
            startTime: info.startTimeL,
            traceparent: newTraceparent(),
          };
          sends.push(limit(() => recordOpen(entry)));
        }
        continue;
      }
      if (seen.has(info.conversationId)) continue;
      if (seen.size < DEDUPE_LIMIT) seen.add(info.conversationId);
      await add({
        conversationId: info.conversationId,
        startTime: info.startTimeL,
        // LivePerson sends -1 for "none" (an open conversation's endTimeL): take the first real instant.
        updateTime: Math.trunc(
          [info.latestUpdateTime, info.endTimeL].find((t) => t !== undefined && t >= 0) ?? info.startTimeL,
        ),
        status: info.status,
        traceparent: newTraceparent(),
      });
    }
    // Keep the sends of one page from piling up behind a slow queue.
    if (sends.length > 64) await Promise.all(sends.splice(0));
  };

  const statuses: Array<'OPEN' | 'CLOSE'> =
    openAfterMs === undefined && !deps.recordOpen ? ['CLOSE'] : ['OPEN', 'CLOSE'];
  for await (const page of deps.lp.searchConversations(
    {
      start: { from: oldest, to: runStart },
      updatedSince,
      status: statuses,
      contentToRetrieve: DISCOVERY_CONTENT,
    },
    deps.signal,
  )) {
    await consume(page.records);
  }
  if (openAfterMs !== undefined) {
    // Open conversations that crossed the age threshold since the last run, even if nothing changed in them.
    const from = Math.max(oldest, updatedSince - openAfterMs);
    const to = runStart - openAfterMs;
    if (from <= to) {
      for await (const page of deps.lp.searchConversations(
        { start: { from, to }, status: ['OPEN'], contentToRetrieve: DISCOVERY_CONTENT },
        deps.signal,
      )) {
        await consume(page.records);
      }
    }
  }
  flush();
  await Promise.all(sends);
  result.watermark = await deps.watermarks.advance(accountId, runStart, previous);
  logger.info('discovery run complete', { ...result });
  return result;
}
