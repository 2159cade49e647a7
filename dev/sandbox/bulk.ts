/**
 * Bulk File Download (reference §5 option B): requests move NEW → IN_PROGRESS → READY as they are polled;
 * READY carries ZIP links that expire (60 s on the sandbox clock) and are authorised by an HMAC signature
 * in the query string, like a pre-signed storage URL.
 *
 * ZIP entries are named by the basename of each file's relativePath (e.g. `8a66a22f-….PNG`): LivePerson's
 * own entry naming is undocumented, and the basename is what ties an entry back to its message.
 * At most 50 files per ZIP (LivePerson's documented cap); more files give several ZIPs.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';
import yazl from 'yazl';
import { basename } from './files.js';
import { ApiError } from './search.js';
import type { ConversationStore } from './store.js';

export const FILES_PER_ZIP = 50;
export const URL_TTL_MS = 60_000;

type BulkStatus = 'NEW' | 'IN_PROGRESS' | 'READY' | 'FAILED';

interface BulkRequest {
  requestId: string;
  conversationId: string;
  createdAt: number;
  polls: number;
  status: BulkStatus;
  /** Files frozen when the request became READY (a later removal still shows in new requests only). */
  files?: string[][];
}

export class BulkDownloads {
  private readonly requests = new Map<string, BulkRequest>();
  private readonly secret = randomBytes(32);

  constructor(
    private readonly store: ConversationStore,
    private readonly accountId: string,
    private readonly now: () => number,
    /** Polls before a request is READY (the first poll shows IN_PROGRESS). */
    private readonly pollsUntilReady = 2,
  ) {}

  create(body: unknown): Record<string, unknown> {
    const filter = (body as { filter?: { conversationId?: unknown } } | null)?.filter;
    const extra = filter && Object.keys(filter).filter((k) => k !== 'conversationId');
    if (!filter || typeof filter.conversationId !== 'string' || !filter.conversationId) {
      throw new ApiError(400, 'filter.conversationId is required');
    }
    if (extra?.length)
      throw new ApiError(400, `filter: only conversationId is allowed, got ${extra.join(', ')}`);
    const req: BulkRequest = {
      requestId: randomUUID(),
      conversationId: filter.conversationId,
      createdAt: this.now(),
      polls: 0,
      status: 'NEW',
    };
    this.requests.set(req.requestId, req);
    return this.view(req, '');
  }

  get(requestId: string, origin: string): Record<string, unknown> {
    const req = this.requests.get(requestId);
    if (!req) throw new ApiError(404, `Bulk download request '${requestId}' not found`);
    if (req.status === 'NEW' || req.status === 'IN_PROGRESS') {
      req.polls++;
      if (req.polls >= this.pollsUntilReady) this.complete(req);
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

  private complete(req: BulkRequest): void {
    if (!this.store.has(req.conversationId) || this.store.bulkDownloadFails(req.conversationId)) {
      req.status = 'FAILED';
      return;
    }
    const files = this.store.storedFiles(req.conversationId, this.now());
    const parts: string[][] = [];
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
      filter: { conversationId: req.conversationId },
      downloadUrls,
      createdAt: new Date(req.createdAt).toISOString(),
      ...(req.status === 'FAILED'
        ? {
            failureReason: this.store.has(req.conversationId)
              ? 'File storage error'
              : 'Conversation not found',
          }
        : {}),
    };
  }

  private sign(requestId: string, part: number, expires: number): string {
    return createHmac('sha256', this.secret).update(`${requestId}/${part}/${expires}`).digest('base64url');
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
    const files = this.requests.get(requestId)?.files?.[part];
    if (!files) throw new ApiError(404, 'Archive not found');
    const zip = new yazl.ZipFile();
    for (const relativePath of files) {
      // Bytes are generated only when yazl reaches this entry, so one ZIP never holds all files in memory.
      // Media is already compressed: stored, not deflated (deflating random bytes only burns CPU).
      const compress = relativePath.toUpperCase().endsWith('.TXT');
      zip.addReadStreamLazy(
        basename(relativePath),
        { mtime: new Date(Date.UTC(2024, 0, 1)), compress },
        (cb) => cb(null, Readable.from([this.store.fileBytes(relativePath)])),
      );
    }
    zip.end();
    return zip.outputStream;
  }
}
