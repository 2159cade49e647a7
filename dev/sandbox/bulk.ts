/**
 * Bulk File Download (reference §5 option B): requests move NEW → IN_PROGRESS → READY as they are polled;
 * READY carries ZIP links that expire (60 s on the sandbox clock) and are authorised by an HMAC signature
 * in the query string, like a pre-signed storage URL.
 *
 * Filters. `{"filter":{"conversationId":"<id>"}}` is LivePerson's documented (and only documented) filter.
 * `{"filter":{"conversationIds":[...]}}` (at most 100) is an ASSUMPTION beyond LivePerson's docs, served
 * unless the sandbox is started with `bulkListFilter: false`, which answers it 400 as the docs imply.
 *
 * Entry names (LivePerson's are undocumented): the file's relativePath without its leading slash; in a
 * list-filter archive under a folder named by the conversation ID: `<conversationId>/<relativePath>`.
 * At most 50 files per ZIP (LivePerson's documented cap); more files give several ZIPs. Test hooks
 * (`Hostile`) add what a hostile or broken service might send: repeated names, bombs, stuck requests.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';
import yazl from 'yazl';
import { ApiError } from './search.js';
import type { ConversationStore } from './store.js';

export const FILES_PER_ZIP = 50;
export const URL_TTL_MS = 60_000;
export const MAX_LIST_FILTER = 100;

type BulkStatus = 'NEW' | 'IN_PROGRESS' | 'READY' | 'FAILED';

interface ZipFile {
  conversationId: string;
  relativePath: string;
}

interface BulkRequest {
  requestId: string;
  conversationIds: string[];
  scope: 'group' | 'conversation';
  createdAt: number;
  polls: number;
  status: BulkStatus;
  /** Stays IN_PROGRESS whatever the polls (a stalled request). */
  stalled: boolean;
  /** Files frozen when the request became READY (a later removal still shows in new requests only). */
  files?: ZipFile[][];
}

/** What a test can make the service do wrong (all per conversation unless said otherwise). */
export class Hostile {
  /** Requests including the conversation that will stay IN_PROGRESS for ever (count left). */
  readonly stalled = new Map<string, number>();
  /** Extra entries in the conversation's archive, after its genuine files. */
  readonly extras = new Map<string, Array<{ relativePath: string; bytes: Buffer }>>();
  /** Files served as this many zero bytes, deflated (a compression bomb). */
  readonly bombs = new Map<string, number>();
  /** Calls to any Bulk File Download endpoint (create, status, ZIP) still to answer 503. */
  filesOutage = 0;
  /** ZIP transfers still to break off after a few KB. */
  brokenTransfers = 0;
  /** By-ID requests naming one of these conversations are answered 400 (LivePerson refusing an ID). */
  readonly refusedById = new Set<string>();
  /** The next answers of an endpoint that are valid JSON of this many bytes (count left). */
  readonly oversize = new Map<string, { bytes: number; count: number }>();
}

function zeros(total: number): Readable {
  const chunk = Buffer.alloc(64 * 1024);
  let left = total;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

const stripSlashes = (p: string) => p.replace(/^\/+/, '');

export class BulkDownloads {
  private readonly requests = new Map<string, BulkRequest>();
  private readonly secret = randomBytes(32);

  constructor(
    private readonly store: ConversationStore,
    private readonly accountId: string,
    private readonly now: () => number,
    /** Polls before a request is READY (the first poll shows IN_PROGRESS). */
    private readonly pollsUntilReady = 2,
    /** Serve the undocumented list filter `conversationIds` (false: 400, as LivePerson's docs imply). */
    private readonly listFilter = true,
    readonly hostile = new Hostile(),
  ) {}

  create(body: unknown): Record<string, unknown> {
    const filter = (body as { filter?: Record<string, unknown> } | null)?.filter;
    if (!filter || typeof filter !== 'object') throw new ApiError(400, 'filter.conversationId is required');
    const keys = Object.keys(filter);
    let ids: string[];
    let scope: BulkRequest['scope'];
    if (this.listFilter && keys.length === 1 && keys[0] === 'conversationIds') {
      const list = filter.conversationIds;
      if (!Array.isArray(list) || list.length === 0 || list.some((v) => typeof v !== 'string' || v === ''))
        throw new ApiError(400, 'filter.conversationIds must be a non-empty list of conversation ids');
      if (list.length > MAX_LIST_FILTER)
        throw new ApiError(400, `filter.conversationIds: at most ${MAX_LIST_FILTER} ids, got ${list.length}`);
      ids = [...new Set(list as string[])];
      scope = 'group';
    } else {
      const extra = keys.filter((k) => k !== 'conversationId');
      if (typeof filter.conversationId !== 'string' || !filter.conversationId) {
        throw new ApiError(400, 'filter.conversationId is required');
      }
      if (extra.length)
        throw new ApiError(400, `filter: only conversationId is allowed, got ${extra.join(', ')}`);
      ids = [filter.conversationId];
      scope = 'conversation';
    }
    let stalled = false;
    for (const id of ids) {
      const left = this.hostile.stalled.get(id) ?? 0;
      if (left > 0) {
        stalled = true;
        this.hostile.stalled.set(id, left - 1);
      }
    }
    const req: BulkRequest = {
      requestId: randomUUID(),
      conversationIds: ids,
      scope,
      createdAt: this.now(),
      polls: 0,
      status: 'NEW',
      stalled,
    };
    this.requests.set(req.requestId, req);
    return this.view(req, '');
  }

  get(requestId: string, origin: string): Record<string, unknown> {
    const req = this.requests.get(requestId);
    if (!req) throw new ApiError(404, `Bulk download request '${requestId}' not found`);
    if (req.status === 'NEW' || req.status === 'IN_PROGRESS') {
      req.polls++;
      if (req.polls >= this.pollsUntilReady && !req.stalled) this.complete(req);
      else req.status = 'IN_PROGRESS';
    }
    return this.view(req, origin);
  }

  list(query: URLSearchParams, origin: string): Record<string, unknown> {
    const page = Number(query.get('page') ?? '0');
    const pageSize = Number(query.get('pageSize') ?? '100');
    if (!Number.isInteger(page) || page < 0)
      throw new ApiError(400, "Parameter 'page' must be an integer ≥ 0");
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
      throw new ApiError(400, "Parameter 'pageSize' must be an integer from 1 to 100");
    }
    const all = [...this.requests.values()].sort((a, b) => b.createdAt - a.createdAt);
    const totalPages = Math.ceil(all.length / pageSize);
    return {
      items: all.slice(page * pageSize, (page + 1) * pageSize).map((r) => this.view(r, origin)),
      pagination: {
        totalRecords: all.length,
        currentPage: page,
        totalPages,
        nextPage: page + 1 < totalPages ? page + 1 : null,
        prevPage: page > 0 ? page - 1 : null,
      },
    };
  }

  private failing(id: string): boolean {
    return !this.store.has(id) || this.store.bulkDownloadFails(id);
  }

  private complete(req: BulkRequest): void {
    // One unknown or failing conversation fails the whole request (LivePerson gives no per-conversation status).
    if (req.conversationIds.some((id) => this.failing(id))) {
      req.status = 'FAILED';
      return;
    }
    const files: ZipFile[] = req.conversationIds.flatMap((conversationId) =>
      this.store
        .storedFiles(conversationId, this.now())
        .map((relativePath) => ({ conversationId, relativePath })),
    );
    const parts: ZipFile[][] = [];
    for (let i = 0; i < files.length; i += FILES_PER_ZIP) parts.push(files.slice(i, i + FILES_PER_ZIP));
    req.files = parts;
    req.status = 'READY';
  }

  private view(req: BulkRequest, origin: string): Record<string, unknown> {
    const expires = Math.floor((this.now() + URL_TTL_MS) / 1000);
    const downloadUrls =
      req.status === 'READY'
        ? (req.files ?? []).map((_, part) => {
            const path = `/v1/account/${this.accountId}/bulk-download-requests/${req.requestId}/archives/${part}.zip`;
            return `${origin}${path}?expires=${expires}&sig=${this.sign(req.requestId, part, expires)}`;
          })
        : [];
    return {
      requestId: req.requestId,
      accountId: this.accountId,
      status: req.status,
      filter:
        req.scope === 'group'
          ? { conversationIds: req.conversationIds }
          : { conversationId: req.conversationIds[0] },
      downloadUrls,
      createdAt: new Date(req.createdAt).toISOString(),
      ...(req.status === 'FAILED'
        ? {
            failureReason: req.conversationIds.every((id) => this.store.has(id))
              ? 'File storage error'
              : 'Conversation not found',
          }
        : {}),
    };
  }

  private sign(requestId: string, part: number, expires: number): string {
    return createHmac('sha256', this.secret).update(`${requestId}/${part}/${expires}`).digest('base64url');
  }

  /** The entry name of a file in an archive of this request. */
  private entryName(req: BulkRequest, f: ZipFile): string {
    const rel = stripSlashes(f.relativePath);
    return req.scope === 'group' ? `${f.conversationId}/${rel}` : rel;
  }

  /** The ZIP stream for one signed link; 403 on a bad or expired signature. */
  archive(requestId: string, part: number, query: URLSearchParams): NodeJS.ReadableStream {
    const expires = Number(query.get('expires'));
    const sig = query.get('sig') ?? '';
    const expected = this.sign(requestId, part, expires);
    if (
      !Number.isFinite(expires) ||
      sig.length !== expected.length ||
      !timingSafeEqual(Buffer.from(sig), Buffer.from(expected))
    ) {
      throw new ApiError(403, 'Signature does not match');
    }
    if (expires * 1000 < this.now()) throw new ApiError(403, 'Link expired');
    const req = this.requests.get(requestId);
    const files = req?.files?.[part];
    if (!req || !files) throw new ApiError(404, 'Archive not found');
    const zip = new yazl.ZipFile();
    const options = (compress: boolean) => ({ mtime: new Date(Date.UTC(2024, 0, 1)), compress });
    const seen = new Set<string>();
    for (const f of files) {
      const bomb = this.hostile.bombs.get(f.relativePath);
      // Bytes are generated only when yazl reaches this entry, so one ZIP never holds all files in memory.
      // Media is already compressed: stored, not deflated (deflating random bytes only burns CPU).
      const compress = bomb !== undefined || f.relativePath.toUpperCase().endsWith('.TXT');
      zip.addReadStreamLazy(this.entryName(req, f), options(compress), (cb) =>
        cb(null, bomb !== undefined ? zeros(bomb) : Readable.from([this.store.fileBytes(f.relativePath)])),
      );
      // A conversation's extra entries go into the archive that holds its first file.
      if (seen.has(f.conversationId)) continue;
      seen.add(f.conversationId);
      for (const extra of this.hostile.extras.get(f.conversationId) ?? []) {
        zip.addBuffer(
          extra.bytes,
          this.entryName(req, { conversationId: f.conversationId, relativePath: extra.relativePath }),
          options(false),
        );
      }
    }
    zip.end();
    return zip.outputStream;
  }
}
