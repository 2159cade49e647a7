/**
 * Messaging Interactions: conversation search (windows ≤ 3 months, paging by offset, partial pages
 * refetched, isPartial records refetched by ID, deduped by conversationId) and conversations by ID.
 */
import { z } from 'zod';
import type { Logger } from '../log.js';
import type { ConversationPage, ConversationSearch } from './contract.js';
import { LivePersonError } from './errors.js';
import type { HttpCore, RequestAuth, Sleep } from './http.js';

/**
 * Everything an archiver needs. LivePerson's `contentToRetrieve` is all-or-nothing (sending it drops the
 * defaults), so this lists every documented content type, defaults included.
 */
export const ARCHIVE_CONTENT = [
  'campaign',
  'messageRecords',
  'agentParticipants',
  'agentParticipantsLeave',
  'agentParticipantsActive',
  'consumerParticipants',
  'transfers',
  'interactions',
  'messageScores',
  'messageStatuses',
  'conversationSurveys',
  'coBrowseSessions',
  'summary',
  'sdes',
  'unAuthSdes',
  'monitoring',
  'dialogs',
  'responseTime',
  'skillChanges',
  'intents',
  'uniqueIntents',
  'latestAgentSurvey',
  'previouslySubmittedAgentSurveys',
] as const;

/**
 * LivePerson rejects `start` windows over 3 months and widens each bound by up to 10 minutes (rounding),
 * so windows are 88 days: under the shortest 3 months (89 days) even after rounding.
 */
export const MAX_WINDOW_MS = 88 * 24 * 60 * 60_000;
export const PAGE_SIZE = 100;
export const BY_ID_BATCH = 100;
const PARTIAL_PAGE_ATTEMPTS = 4;

const RecordsSchema = z.array(z.unknown());
const SearchResponseSchema = z.union([
  z.looseObject({
    _metadata: z.looseObject({
      count: z.number().int().nonnegative(),
      shardsStatusResult: z.looseObject({ partialResult: z.boolean().optional() }).optional(),
    }),
    conversationHistoryRecords: RecordsSchema.optional(),
  }),
  z.undefined(), // 204 No Content
]);

/** `info.conversationId` / `info.isPartial` / `info.startTimeL` of a raw record, when present. */
function infoOf(record: unknown): { id?: string; isPartial?: boolean; start?: number } {
  const info = (record as { info?: Record<string, unknown> } | null)?.info;
  if (!info || typeof info !== 'object') return {};
  return {
    id: typeof info.conversationId === 'string' ? info.conversationId : undefined,
    isPartial: info.isPartial === true || info.isPartial === 'true',
    start: typeof info.startTimeL === 'number' ? info.startTimeL : undefined,
  };
}

/** Splits [from, to] into consecutive windows of at most MAX_WINDOW_MS (the edges are shared; dedupe covers it). */
export function splitWindows(
  from: number,
  to: number,
  max = MAX_WINDOW_MS,
): Array<{ from: number; to: number }> {
  if (!Number.isFinite(from) || !Number.isFinite(to) || to < from) {
    throw new RangeError(`Invalid start window: from ${from} to ${to}`);
  }
  const windows: Array<{ from: number; to: number }> = [];
  for (let f = from; ; f += max) {
    const t = Math.min(f + max, to);
    windows.push({ from: f, to: t });
    if (t >= to) return windows;
  }
}

export interface MessagingDeps {
  http: HttpCore;
  base: (signal?: AbortSignal) => Promise<URL>;
  auth: (signal?: AbortSignal) => RequestAuth;
  accountId: string;
  source: string;
  readAhead: number;
  retryBaseMs: number;
  sleep: Sleep;
  logger: Logger;
}

export type SearchOptions = ConversationSearch;

export class MessagingInteractions {
  constructor(private readonly d: MessagingDeps) {}

  private async url(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<URL> {
    const base = await this.d.base(signal);
    const u = new URL(`/messaging_history/api/account/${encodeURIComponent(this.d.accountId)}${path}`, base);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    u.searchParams.set('source', this.d.source);
    return u;
  }

  /** One search page; a page flagged `partialResult` is fetched again (bounded), then fails clearly. */
  private async page(body: object, offset: number, signal?: AbortSignal) {
    const describe = `msgHist search (offset ${offset})`;
    for (let attempt = 1; ; attempt++) {
      const url = await this.url(
        '/conversations/search',
        { offset: String(offset), limit: String(PAGE_SIZE), sort: 'start:asc' },
        signal,
      );
      const res = await this.d.http.json(
        { endpoint: 'search', describe, method: 'POST', url, json: body, auth: this.d.auth(signal), signal },
        SearchResponseSchema,
      );
      const records = res?.conversationHistoryRecords ?? [];
      const count = res?._metadata.count ?? 0;
      if (!res?._metadata.shardsStatusResult?.partialResult) return { records, count };
      if (attempt >= PARTIAL_PAGE_ATTEMPTS) {
        throw new LivePersonError(
          `LivePerson ${describe} returned a partial result (some shards failed) ${attempt} times; try again later`,
          'search',
          200,
          true,
        );
      }
      this.d.logger.debug(`LivePerson ${describe}: partial result, fetching again`);
      await this.d.sleep(this.d.retryBaseMs * attempt, signal);
    }
  }

  /** The raw pages of one window, in order, fetching up to `readAhead` pages concurrently. */
  private async *windowPages(body: object, signal?: AbortSignal) {
    const first = await this.page(body, 0, signal);
    yield { ...first, offset: 0 };
    let total = first.count;
    let nextOffset = first.records.length > 0 ? PAGE_SIZE : total;
    const inflight: Array<{ offset: number; promise: Promise<{ records: unknown[]; count: number }> }> = [];
    try {
      while (nextOffset < total || inflight.length > 0) {
        while (inflight.length < this.d.readAhead && nextOffset < total) {
          const promise = this.page(body, nextOffset, signal);
          promise.catch(() => {}); // awaited below in order; avoid an unhandled rejection meanwhile
          inflight.push({ offset: nextOffset, promise });
          nextOffset += PAGE_SIZE;
        }
        const head = inflight.shift()!;
        const page = await head.promise;
        // The count can grow while paging (new conversations); keep going to the new end.
        total = Math.max(total, page.count);
        yield { ...page, offset: head.offset };
      }
    } finally {
      inflight.length = 0;
    }
  }

  async *search(query: SearchOptions, signal?: AbortSignal): AsyncGenerator<ConversationPage> {
    const { from, to } = query.start;
    const seen = new Set<string>();
    const content = query.contentToRetrieve ?? ARCHIVE_CONTENT;
    for (const window of splitWindows(from, to)) {
      const body: Record<string, unknown> = { start: window, contentToRetrieve: content };
      if (query.status?.length) body.status = query.status;
      if (query.updatedSince !== undefined) body.latestUpdateTime = { from: query.updatedSince };
      for await (const page of this.windowPages(body, signal)) {
        const fresh: unknown[] = [];
        for (const record of page.records) {
          const info = infoOf(record);
          // Rounding widens the window by up to 10 minutes: keep only starts inside the asked range.
          if (info.start !== undefined && (info.start < from || info.start > to)) continue;
          if (info.id !== undefined) {
            if (seen.has(info.id)) continue;
            seen.add(info.id);
          }
          fresh.push(record);
        }
        const partialIds = fresh.flatMap((r) => {
          const i = infoOf(r);
          return i.isPartial && i.id ? [i.id] : [];
        });
        if (partialIds.length > 0) {
          const full = await this.byId(partialIds, content, signal);
          for (let i = 0; i < fresh.length; i++) {
            const id = infoOf(fresh[i]).id;
            const replacement = id === undefined ? undefined : full.get(id);
            if (replacement !== undefined) fresh[i] = replacement;
            else if (id !== undefined && partialIds.includes(id))
              this.d.logger.warn(
                'LivePerson by-ID refetch did not return a partial record; keeping the partial one',
                {
                  conversationId: id,
                },
              );
          }
        }
        yield { records: fresh, offset: page.offset, total: page.count };
      }
    }
  }

  /** Full records by ID, in batches of at most 100; a missing ID is absent from the map. */
  async byId(
    ids: readonly string[],
    content: readonly string[] = ARCHIVE_CONTENT,
    signal?: AbortSignal,
  ): Promise<Map<string, unknown>> {
    const unique = [...new Set(ids)];
    const batches: string[][] = [];
    for (let i = 0; i < unique.length; i += BY_ID_BATCH) batches.push(unique.slice(i, i + BY_ID_BATCH));
    const out = new Map<string, unknown>();
    await Promise.all(
      batches.map(async (batch, n) => {
        const url = await this.url('/conversations/conversation/search', {}, signal);
        const res = await this.d.http.json(
          {
            endpoint: 'byId',
            describe: `msgHist conversations by ID (batch ${n + 1} of ${batches.length})`,
            method: 'POST',
            url,
            json: { conversationIds: batch, contentToRetrieve: content },
            auth: this.d.auth(signal),
            signal,
          },
          SearchResponseSchema,
        );
        for (const record of res?.conversationHistoryRecords ?? []) {
          const id = infoOf(record).id;
          if (id !== undefined && batch.includes(id)) out.set(id, record);
        }
      }),
    );
    return out;
  }
}
