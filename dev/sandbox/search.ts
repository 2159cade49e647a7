/**
 * Messaging Interactions search and by-ID semantics (reference §3.1/§3.2): validation, 10-minute rounding,
 * the 3-month cap, filters, stable sorting and offset paging with `_metadata` links.
 */
import { z } from 'zod';
import { DEFAULT_CONTENT, VALID_CONTENT } from './render.js';
import type { ConversationStore } from './store.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const TEN_MINUTES = 10 * 60 * 1000;
export const roundDown = (ms: number) => Math.floor(ms / TEN_MINUTES) * TEN_MINUTES;
export const roundUp = (ms: number) => Math.ceil(ms / TEN_MINUTES) * TEN_MINUTES;

const epoch = z.number().int();
const range = z.object({ from: epoch, to: epoch }).loose();

const SearchBodySchema = z
  .object({
    start: range,
    end: range.optional(),
    status: z.array(z.enum(['OPEN', 'CLOSE'])).optional(),
    latestUpdateTime: z.union([epoch, z.object({ from: epoch }).loose()]).optional(),
    contentToRetrieve: z.array(z.string()).optional(),
  })
  .loose();

const ByIdBodySchema = z
  .object({
    conversationId: z.string().min(1).optional(),
    conversationIds: z.array(z.string().min(1)).optional(),
    contentToRetrieve: z.array(z.string()).optional(),
  })
  .loose();

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

export function contentSet(list: string[] | undefined): Set<string> {
  if (list === undefined) return new Set(DEFAULT_CONTENT);
  const bad = list.filter((c) => !VALID_CONTENT.has(c));
  if (bad.length) throw new ApiError(400, `contentToRetrieve: unknown content type(s) ${bad.join(', ')}`);
  return new Set(list);
}

function requireSource(query: URLSearchParams): void {
  const source = query.get('source');
  if (!source) throw new ApiError(400, "Missing mandatory parameter 'source'");
  if (source.length > 20) throw new ApiError(400, "Parameter 'source' must be at most 20 characters");
}

function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.getTime();
}

function intParam(query: URLSearchParams, name: string, def: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ApiError(400, `Parameter '${name}' must be an integer from ${min} to ${max}`);
  }
  return n;
}

export interface SearchContext {
  store: ConversationStore;
  /** The instant the search index reflects (sandbox now minus indexLagMs). */
  indexAsOf: number;
  /** The absolute URL of this request (for _metadata links). */
  url: URL;
}

export function searchConversations(ctx: SearchContext, body: unknown) {
  const query = ctx.url.searchParams;
  requireSource(query);
  const limit = intParam(query, 'limit', 50, 1, 100);
  const offset = intParam(query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
  const sortRaw = query.get('sort') ?? 'start:asc';
  const sort = /^(start|end):(asc|desc)$/.exec(sortRaw);
  if (!sort) throw new ApiError(400, `Parameter 'sort' must be start|end:asc|desc, got '${sortRaw}'`);
  const v = query.get('v');
  if (v !== null && v !== '1' && v !== '2') throw new ApiError(400, "Parameter 'v' must be 1 or 2");

  const parsed = SearchBodySchema.safeParse(body);
  if (!parsed.success) throw new ApiError(400, `Invalid search body: ${describe(parsed.error)}`);
  const f = parsed.data;
  for (const [name, r] of [
    ['start', f.start],
    ['end', f.end],
  ] as const) {
    if (!r) continue;
    if (r.from > r.to) throw new ApiError(400, `${name}.from must not be after ${name}.to`);
    if (r.to > addMonths(r.from, 3)) throw new ApiError(400, `${name}: the maximum interval is 3 months`);
  }
  const content = contentSet(f.contentToRetrieve);
  const startFrom = roundDown(f.start.from);
  const startTo = roundUp(f.start.to);
  const end = f.end ? { from: roundDown(f.end.from), to: roundUp(f.end.to) } : undefined;
  const updatedFrom =
    f.latestUpdateTime === undefined
      ? undefined
      : roundDown(typeof f.latestUpdateTime === 'number' ? f.latestUpdateTime : f.latestUpdateTime.from);
  const statuses = f.status ? new Set(f.status) : undefined;

  const asOf = ctx.indexAsOf;
  const matches: Array<{ id: string; key: number }> = [];
  for (const c of ctx.store.existing(asOf)) {
    if (c.startL < startFrom || c.startL > startTo) continue;
    const needsStatus = statuses || end || sort[1] === 'end';
    const st = needsStatus ? ctx.store.status(c.id, asOf) : undefined;
    if (statuses && !statuses.has(st!.status)) continue;
    if (end && (st!.endL < 0 || st!.endL < end.from || st!.endL > end.to)) continue;
    if (updatedFrom !== undefined && (ctx.store.lastUpdateTime(c.id, asOf) ?? -1) < updatedFrom) continue;
    matches.push({ id: c.id, key: sort[1] === 'end' ? st!.endL : c.startL });
  }
  const dir = sort[2] === 'desc' ? -1 : 1;
  // Ties broken by conversationId so offsets are stable between pages.
  matches.sort((a, b) => (a.key - b.key) * dir || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const page = matches.slice(offset, offset + limit);
  const records = page.map((m) => truncateLarge(ctx.store.render(m.id, { asOf, byId: false, content })!));
  const link = (rel: string, o: number) => {
    const u = new URL(ctx.url);
    u.searchParams.set('offset', String(o));
    u.searchParams.set('limit', String(limit));
    return { rel, href: u.toString() };
  };
  const metadata: Record<string, unknown> = { count: matches.length, self: link('self', offset) };
  if (offset + limit < matches.length) metadata.next = link('next', offset + limit);
  if (offset > 0) metadata.prev = link('prev', Math.max(0, offset - limit));
  metadata.shardsStatusResult = { partialResult: false };
  return { _metadata: metadata, conversationHistoryRecords: records };
}

/** Search answers carry at most this many message records; the rest only by ID (reference §3.1 isPartial). */
export const SEARCH_MESSAGE_CAP = 60;

function truncateLarge(record: Record<string, unknown>): Record<string, unknown> {
  const messages = record.messageRecords;
  if (!Array.isArray(messages) || messages.length <= SEARCH_MESSAGE_CAP) return record;
  record.messageRecords = messages.slice(0, SEARCH_MESSAGE_CAP);
  // A corrupted record may have lost its info; it is served as it is.
  if (record.info && typeof record.info === 'object')
    (record.info as Record<string, unknown>).isPartial = true;
  return record;
}

export function conversationsById(ctx: SearchContext & { now: number }, body: unknown) {
  requireSource(ctx.url.searchParams);
  const parsed = ByIdBodySchema.safeParse(body);
  if (!parsed.success) throw new ApiError(400, `Invalid body: ${describe(parsed.error)}`);
  const { conversationId, conversationIds, contentToRetrieve } = parsed.data;
  if (conversationId !== undefined && conversationIds !== undefined) {
    throw new ApiError(400, 'Send either conversationId or conversationIds, not both');
  }
  const ids = conversationIds ?? (conversationId !== undefined ? [conversationId] : []);
  if (ids.length === 0) throw new ApiError(400, 'conversationId or conversationIds is required');
  if (ids.length > 100) throw new ApiError(400, `conversationIds: at most 100 ids, got ${ids.length}`);
  const content = contentSet(contentToRetrieve);
  // By-ID reads the primary store, not the search index: no index lag here.
  const records = [...new Set(ids)]
    .map((id) => ctx.store.render(id, { asOf: ctx.now, byId: true, content }))
    .filter((r): r is Record<string, unknown> => r !== undefined);
  return {
    _metadata: { count: records.length, self: { rel: 'self', href: ctx.url.toString() } },
    conversationHistoryRecords: records,
  };
}
