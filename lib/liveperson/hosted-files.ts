/**
 * Hosted-file bytes through LivePerson's Bulk File Download API (domain `fms`, OAuth 2.0 bearer only), for
 * a group of conversations at once: one request for the group, polled with backoff until READY, every ZIP
 * downloaded once (a link: fetched without credentials, still only from an allowed host) to a temp file,
 * and each file expanded from it on demand, within limits (zip-archive.ts).
 *
 * Request modes (LP_FILES_REQUEST). LivePerson documents only `{"filter":{"conversationId":"<id>"}}`, one
 * conversation per request. `group` (the default) sends the group's IDs in one request as
 * `{"filter":{"conversationIds":[...]}}`, a list filter LivePerson does NOT document; if LivePerson answers
 * 400, or its archive cannot be attributed to the conversations, this process falls back to one request
 * per conversation for good (logged once). `conversation` always sends the documented single filter.
 *
 * Entry names (undocumented by LivePerson). A file is matched by its full relativePath (leading slashes
 * ignored), exactly and case-sensitively; in a group archive under a folder named by the conversation ID:
 * `<conversationId>/<relativePath>`. Only when no entry has that name, a single entry of the conversation
 * with the same basename is accepted, provided no other file of the conversation shares that basename.
 * Anything else that could fit several ways (duplicate names, a basename several files share) is
 * `ambiguous-name`: never guess which bytes are the evidence.
 *
 * Permanent absence answers `missing` with a code (contract.ts); every transient failure (429/5xx after
 * retries, a request still in progress after the polls, a transfer that keeps breaking off, a timeout)
 * throws, so the conversation is retried rather than archived without a file that exists.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { z } from 'zod';
import type {
  HostedFileContent,
  HostedFileProvider,
  HostedFileRef,
  MissingFileCode,
} from '../email/contract.js';
import type { Logger } from '../log.js';
import { excerpt, LivePersonError } from './errors.js';
import { DisallowedHostError } from './host-policy.js';
import { type HttpCore, type RequestAuth, readCapped, type Sleep } from './http.js';
import {
  entryProblem,
  extractEntry,
  type OpenedZip,
  openZip,
  type Problem,
  type ZipEntry,
  type ZipLimits,
} from './zip-archive.js';

export const NOT_ENABLED_REASON = 'Bulk File Download is not enabled for this account';

const BulkRequestSchema = z.looseObject({
  requestId: z.union([z.string(), z.number()]).transform(String),
  status: z.string(),
  downloadUrls: z.array(z.string()).optional(),
});

export interface FileLimits extends ZipLimits {
  /** All files of one conversation together (expanded). */
  maxItemBytes: number;
  /** One downloaded archive (compressed). */
  maxZipBytes: number;
}

export type FilesRequestMode = 'group' | 'conversation';

/** A provider that also releases its temp files and open ZIPs; call `dispose()` when the conversation is done. */
export type DisposableFileProvider = HostedFileProvider & { dispose(): Promise<void> };

/** One conversation of a group and, when known, the files its record refers to (in record order). */
export interface FileGroupMember {
  conversationId: string;
  relativePaths?: readonly string[];
}

/** The hosted files of a group of conversations, fetched together on first use. */
export interface FileGroup {
  provider(conversationId: string): HostedFileProvider;
  /** Closes the archives and removes the temp files. */
  dispose(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  pdf: 'application/pdf',
  txt: 'text/plain',
};

const basename = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const stripSlashes = (path: string) => path.replace(/^\/+/, '');
/** A string as a UTF-8 ZIP entry name carries it (lone surrogates become U+FFFD). */
const asStored = (s: string) => Buffer.from(s, 'utf8').toString('utf8');

/** The hosted files a raw conversation record refers to (messageData.file.relativePath), in record order. */
export function hostedFilePaths(record: unknown): string[] {
  const messages = (record as { messageRecords?: unknown } | null)?.messageRecords;
  if (!Array.isArray(messages)) return [];
  const out: string[] = [];
  for (const m of messages) {
    const path = (m as { messageData?: { file?: { relativePath?: unknown } } } | null)?.messageData?.file
      ?.relativePath;
    if (typeof path === 'string' && path !== '' && !out.includes(path)) out.push(path);
  }
  return out;
}

type JobAnswer =
  | { kind: 'missing'; problem: Problem }
  /** The list filter was refused, or its archive could not be told apart by conversation. */
  | { kind: 'not-grouped'; why: string }
  | {
      kind: 'ready';
      requestId: string;
      scope: 'group' | 'conversation';
      entries: ZipEntry[];
      problems: Problem[];
    };

export interface HostedFilesDeps {
  http: HttpCore;
  base: (signal?: AbortSignal) => Promise<URL>;
  /** Undefined when no OAuth 2.0 credentials are configured (Bulk File Download needs a bearer). */
  bearer: ((signal?: AbortSignal) => RequestAuth) | undefined;
  accountId: string;
  mode: FilesRequestMode;
  /** First poll after this; each later one waits twice as long, up to `pollMaxMs`. */
  pollMs: number;
  pollMaxMs: number;
  pollAttempts: number;
  /** One ZIP transfer's time limit, and how often a transfer that breaks off is started. */
  downloadTimeoutMs: number;
  downloadAttempts: number;
  limits: FileLimits;
  sleep: Sleep;
  logger: Logger;
}

const mb = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;

export class BulkFileDownload {
  /** Set once LivePerson refuses the list filter: later groups use one request per conversation. */
  private listFilterRefused = false;

  constructor(private readonly d: HostedFilesDeps) {}

  /** One conversation on its own (a group of one; its files are learnt as they are asked for). */
  provider(conversationId: string): DisposableFileProvider {
    const g = this.group([{ conversationId }]);
    return Object.assign(g.provider(conversationId), { dispose: () => g.dispose() });
  }

  group(members: readonly FileGroupMember[]): FileGroup {
    const byId = new Map(members.map((m) => [m.conversationId, m]));
    const perConversation = new Map<string, Promise<JobAnswer>>();
    let groupJob: Promise<JobAnswer> | undefined;
    const zips = new Set<{ close(): void }>();
    let dir: Promise<string> | undefined;
    let disposed = false;
    const tempDir = () => (dir ??= mkdtemp(join(tmpdir(), 'lp-files-')));
    const extracted = new Map<ZipEntry, Promise<{ path: string } | Problem>>();
    const budgets = new Map<string, Promise<Map<string, Problem | undefined>>>();
    let seq = 0;

    const single = (id: string) => {
      let job = perConversation.get(id);
      if (!job) {
        job = this.job([id], 'conversation', tempDir, zips);
        job.catch(() => {}); // awaited by every caller; a failure is theirs to report
        perConversation.set(id, job);
      }
      return job;
    };
    /** The job answering for this conversation: the group's, or its own. */
    const jobFor = async (id: string): Promise<JobAnswer> => {
      const wanting = members.filter((m) => m.relativePaths === undefined || m.relativePaths.length > 0);
      if (
        this.d.mode === 'group' &&
        !this.listFilterRefused &&
        wanting.length > 1 &&
        wanting.some((m) => m.conversationId === id)
      ) {
        groupJob ??= this.job(
          wanting.map((m) => m.conversationId),
          'group',
          tempDir,
          zips,
        );
        groupJob.catch(() => {});
        const answer = await groupJob;
        if (answer.kind === 'not-grouped') {
          if (!this.listFilterRefused) {
            this.listFilterRefused = true;
            this.d.logger.warn(
              `Bulk File Download: ${answer.why}; using one request per conversation from now on (set LP_FILES_REQUEST=conversation to skip the attempt)`,
            );
          }
          return single(id);
        }
        // A FAILED group request names no culprit: ask per conversation, so only that one is marked.
        if (answer.kind === 'missing' && answer.problem.code === 'request-failed') return single(id);
        return answer;
      }
      return single(id);
    };

    const locate = (answer: Extract<JobAnswer, { kind: 'ready' }>, id: string, relativePath: string) =>
      locateEntry(answer, id, relativePath, members, byId.get(id)?.relativePaths);

    /** Which of the conversation's files fit its item budget, decided in record order from declared sizes. */
    const budgetOf = (answer: Extract<JobAnswer, { kind: 'ready' }>, id: string) => {
      let b = budgets.get(id);
      if (!b) {
        b = (async () => {
          const over = new Map<string, Problem | undefined>();
          let total = 0;
          for (const path of byId.get(id)?.relativePaths ?? []) {
            const hit = locate(answer, id, path);
            // A file refused on its own (too large, a bomb) takes no room in the budget.
            if (!('entry' in hit) || entryProblem(hit.entry, this.d.limits)) continue;
            total += hit.entry.entry.uncompressedSize;
            if (total > this.d.limits.maxItemBytes) over.set(path, itemTooLarge(this.d.limits.maxItemBytes));
          }
          return over;
        })();
        budgets.set(id, b);
      }
      return b;
    };
    /** Per conversation: expanded bytes of files the record scan did not list, budgeted in the order asked. */
    const unplanned = new Map<string, number>();

    const extract = (entry: ZipEntry) => {
      let e = extracted.get(entry);
      if (!e) {
        e = (async () => {
          const path = join(await tempDir(), `${seq++}.bin`);
          const problem = await extractEntry(entry, path, this.d.limits);
          return problem ?? { path };
        })();
        extracted.set(entry, e);
      }
      return e;
    };

    const provider =
      (id: string): HostedFileProvider =>
      async (ref: HostedFileRef): Promise<HostedFileContent> => {
        if (disposed) throw new Error(`hosted files of conversation ${id} were already disposed`);
        const answer = await jobFor(id);
        if (answer.kind === 'missing') return { status: 'missing', ...answer.problem };
        if (answer.kind !== 'ready') throw new Error('unreachable: ungrouped answer');
        const hit = locate(answer, id, ref.relativePath);
        if (!('entry' in hit)) return { status: 'missing', ...hit };
        const refused = entryProblem(hit.entry, this.d.limits);
        if (refused) return { status: 'missing', ...refused };
        const planned = byId.get(id)?.relativePaths;
        if (planned?.includes(ref.relativePath)) {
          const over = (await budgetOf(answer, id)).get(ref.relativePath);
          if (over) return { status: 'missing', ...over };
        } else {
          // A file the record scan did not list: budgeted in the order asked.
          const total = (unplanned.get(id) ?? 0) + hit.entry.entry.uncompressedSize;
          unplanned.set(id, total);
          if (total > this.d.limits.maxItemBytes)
            return { status: 'missing', ...itemTooLarge(this.d.limits.maxItemBytes) };
        }
        const out = await extract(hit.entry);
        if (!('path' in out)) return { status: 'missing', ...out };
        const name = basename(hit.entry.name);
        const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
        return {
          status: 'ok',
          content: createReadStream(out.path),
          filename: name,
          contentType: CONTENT_TYPES[ext],
          size: hit.entry.entry.uncompressedSize,
        };
      };

    return {
      provider,
      dispose: async () => {
        disposed = true;
        // Let running jobs and extractions finish (or fail) so nothing writes into a removed directory.
        await Promise.allSettled([groupJob, ...perConversation.values(), ...extracted.values()]);
        for (const zip of zips) zip.close();
        zips.clear();
        if (dir) await rm(await dir, { recursive: true, force: true });
      },
    };
  }

  /** Creates one request, polls it to an end, downloads and opens its archives. Transient failures throw. */
  private async job(
    ids: string[],
    scope: 'group' | 'conversation',
    tempDir: () => Promise<string>,
    zips: Set<{ close(): void }>,
  ): Promise<JobAnswer> {
    if (!this.d.bearer) {
      return {
        kind: 'missing',
        problem: {
          code: 'no-credentials',
          reason: 'Bulk File Download needs OAuth 2.0 client credentials (LP_CLIENT_ID, LP_CLIENT_SECRET)',
        },
      };
    }
    const what =
      scope === 'group'
        ? `Bulk File Download request for ${ids.length} conversations`
        : `Bulk File Download request for conversation ${ids[0]}`;
    const base = await this.d.base();
    const root = `/v1/account/${encodeURIComponent(this.d.accountId)}/bulk-download-requests`;
    const createReq = {
      endpoint: 'files.create',
      describe: what,
      method: 'POST' as const,
      url: new URL(root, base),
      json: { filter: scope === 'group' ? { conversationIds: ids } : { conversationId: ids[0] } },
      auth: this.d.bearer(),
      passStatuses: [400, 403, 404],
    };
    const createRes = await this.d.http.send(createReq);
    if (createRes.status === 400) {
      const body = excerpt(
        (await readCapped(createRes, 2000).catch(() => ({ bytes: Buffer.alloc(0) }))).bytes.toString('utf8'),
        200,
      );
      if (scope === 'group')
        return { kind: 'not-grouped', why: `LivePerson refused the list filter (400: ${body})` };
      return {
        kind: 'missing',
        problem: {
          code: 'request-failed',
          reason: `LivePerson refused the Bulk File Download request (400: ${body})`,
        },
      };
    }
    if (createRes.status === 403 || createRes.status === 404) {
      await createRes.body?.cancel();
      return { kind: 'missing', problem: { code: 'not-enabled', reason: NOT_ENABLED_REASON } };
    }
    let state = await this.d.http.parse(createRes, createReq, BulkRequestSchema);
    for (let poll = 0; state.status !== 'READY' && state.status !== 'FAILED'; poll++) {
      if (poll >= this.d.pollAttempts) {
        throw new LivePersonError(
          `LivePerson ${what}: request ${state.requestId} still ${state.status} after ${poll} polls`,
          'files.status',
          undefined,
          true,
        );
      }
      await this.d.sleep(Math.min(this.d.pollMs * 2 ** poll, Math.max(this.d.pollMs, this.d.pollMaxMs)));
      state = await this.d.http.json(
        {
          endpoint: 'files.status',
          describe: `Bulk File Download status of request ${state.requestId}`,
          method: 'GET',
          url: new URL(`${root}/${encodeURIComponent(state.requestId)}`, base),
          auth: this.d.bearer(),
        },
        BulkRequestSchema,
      );
    }
    if (state.status === 'FAILED') {
      return {
        kind: 'missing',
        problem: { code: 'request-failed', reason: `Bulk File Download request ${state.requestId} FAILED` },
      };
    }
    const links = state.downloadUrls ?? [];
    const entries: ZipEntry[] = [];
    const problems: Problem[] = [];
    for (const [n, link] of links.entries()) {
      const opened = await this.archive(link, n + 1, links.length, what, tempDir);
      if ('problem' in opened) {
        problems.push(opened.problem);
        continue;
      }
      zips.add(opened.zip);
      entries.push(...opened.entries);
    }
    if (scope === 'group') {
      // The archive must say whose each file is; if it does not follow `<conversationId>/...`, the list
      // filter cannot be trusted to attribute files: fall back to one request per conversation.
      const prefixes = ids.map((id) => `${asStored(id)}/`);
      const stray = entries.find((e) => !prefixes.some((p) => e.name.startsWith(p)));
      if (stray)
        return { kind: 'not-grouped', why: 'a group archive holds entries outside any conversation folder' };
    }
    return { kind: 'ready', requestId: state.requestId, scope, entries, problems };
  }

  /** Downloads one archive link to a temp file (restarting a transfer that breaks off) and opens it. */
  private async archive(
    link: string,
    n: number,
    of: number,
    what: string,
    tempDir: () => Promise<string>,
  ): Promise<OpenedZip> {
    let url: URL;
    try {
      url = new URL(link);
    } catch {
      return { problem: { code: 'refused-host', reason: `archive ${n} of ${of} has an invalid link` } };
    }
    const path = join(await tempDir(), `archive-${n}-${Math.random().toString(36).slice(2)}.zip`);
    const describe = `${what}: archive ${n} of ${of}`;
    // A link, not an API: no credentials. The host check inside send() still applies. A transfer that
    // breaks mid-body is started again (send() only retries failures before the body).
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.d.http.send({
          endpoint: 'files.download',
          describe,
          method: 'GET',
          url,
          timeoutMs: this.d.downloadTimeoutMs,
        });
      } catch (err) {
        if (err instanceof DisallowedHostError) {
          return {
            problem: {
              code: 'refused-host',
              reason: `archive ${n} of ${of} is on ${url.host}, a host that is not allowed (LP_ALLOWED_HOSTS); not contacted`,
            },
          };
        }
        throw err;
      }
      if (!res.body) throw new LivePersonError(`LivePerson ${describe} had no body`, 'files.download');
      const declared = Number(res.headers.get('content-length'));
      const tooLarge = {
        problem: {
          code: 'too-large' as MissingFileCode,
          reason: `archive ${n} of ${of} is over ${mb(this.d.limits.maxZipBytes)} (LP_FILES_MAX_ZIP_MB); not downloaded`,
        },
      };
      if (Number.isFinite(declared) && declared > this.d.limits.maxZipBytes) {
        await res.body.cancel().catch(() => {});
        return tooLarge;
      }
      let over = false;
      let seen = 0;
      const max = this.d.limits.maxZipBytes;
      const cap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          seen += chunk.length;
          if (seen > max) {
            over = true;
            done(new Error('archive over the size limit'));
          } else done(null, chunk);
        },
      });
      try {
        await pipeline(
          Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
          cap,
          createWriteStream(path),
        );
        return await openZip(path, n, this.d.limits);
      } catch (err) {
        if (over) return tooLarge;
        if (attempt >= this.d.downloadAttempts) {
          throw new LivePersonError(
            `LivePerson ${describe} broke off ${attempt} times: ${err instanceof Error ? err.message : String(err)}`,
            'files.download',
            undefined,
            true,
          );
        }
        this.d.logger.warn('Bulk File Download archive transfer broke off; downloading again', {
          archive: n,
        });
      }
    }
  }
}

function itemTooLarge(max: number): Problem {
  return {
    code: 'too-large',
    reason: `the conversation's files together exceed ${mb(max)} (LP_FILES_MAX_ITEM_MB)`,
  };
}

/**
 * Finds the one entry that is this file, or says why there is none: exact full path first (in a group
 * archive under `<conversationId>/`), then a unique basename no sibling file shares.
 */
function locateEntry(
  answer: Extract<JobAnswer, { kind: 'ready' }>,
  id: string,
  relativePath: string,
  members: readonly FileGroupMember[],
  siblings: readonly string[] | undefined,
): { entry: ZipEntry } | Problem {
  const rel = asStored(stripSlashes(relativePath));
  let scoped = answer.entries;
  let expected = rel;
  if (answer.scope === 'group') {
    const prefix = `${asStored(id)}/`;
    const twins = members.filter(
      (m) => m.conversationId !== id && `${asStored(m.conversationId)}/` === prefix,
    );
    if (twins.length > 0) {
      return {
        code: 'ambiguous-name',
        reason: `the archive cannot tell this conversation's files from those of another conversation with a similar ID`,
      };
    }
    scoped = answer.entries.filter((e) => e.name.startsWith(prefix));
    expected = prefix + rel;
  }
  const exact = scoped.filter((e) => e.name === expected);
  if (exact.length === 1) return { entry: exact[0]! };
  const shown = basename(relativePath).slice(0, 120);
  if (exact.length > 1) {
    return { code: 'ambiguous-name', reason: `the archive holds ${exact.length} entries named ${shown}` };
  }
  const base = basename(rel);
  const byBase = scoped.filter((e) => basename(e.name) === base);
  const shared = (siblings ?? []).filter(
    (p) => p !== relativePath && basename(asStored(stripSlashes(p))) === base,
  );
  if (byBase.length === 1 && shared.length === 0) return { entry: byBase[0]! };
  if (byBase.length > 0) {
    return {
      code: 'ambiguous-name',
      reason: `file ${shown} is not in the archive under its path, and its name fits ${byBase.length} entries and ${shared.length + 1} files`,
    };
  }
  const problem = answer.problems[0];
  if (problem) return problem;
  return { code: 'not-in-archive', reason: `file ${shown} is not in the Bulk File Download archive` };
}
