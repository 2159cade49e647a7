/**
 * Hosted-file bytes through LivePerson's Bulk File Download API (domain `fms`, OAuth 2.0 bearer only):
 * one request per conversation, made on the first file asked for; poll until READY; download each ZIP
 * (a link: fetched without credentials, still only from an allowed host) to a temp file; serve entries
 * as streams straight out of the ZIP.
 *
 * Entry naming is undocumented by LivePerson, so a file is matched by the basename of its relativePath,
 * case-insensitively (the sandbox names entries exactly so).
 *
 * A definite absence (feature not enabled, request FAILED, file not in the archive, no OAuth 2.0
 * credentials) answers `missing` with the reason; a transient failure (retries exhausted) throws, so the
 * conversation fails and is retried later rather than archived without a file that exists.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import yauzl from 'yauzl';
import { z } from 'zod';
import type {
  HostedFileContent,
  HostedFileProvider,
  HostedFileRef,
  MissingFileCode,
} from '../email/contract.js';
import type { Logger } from '../log.js';
import { LivePersonError } from './errors.js';
import type { HttpCore, RequestAuth, Sleep } from './http.js';

export const NOT_ENABLED_REASON = 'Bulk File Download is not enabled for this account';

const BulkRequestSchema = z.looseObject({
  requestId: z.union([z.string(), z.number()]).transform(String),
  status: z.string(),
  downloadUrls: z.array(z.string()).optional(),
});

/** A provider that also releases its temp files and open ZIPs; call `dispose()` when the conversation is done. */
export type DisposableFileProvider = HostedFileProvider & { dispose(): Promise<void> };

type Indexed = { zip: yauzl.ZipFile; entry: yauzl.Entry; name: string };
type BulkResult =
  | { kind: 'missing'; code: MissingFileCode; reason: string }
  | { kind: 'ready'; index: Map<string, Indexed> };

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  pdf: 'application/pdf',
  txt: 'text/plain',
};

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, zip) =>
      err ? reject(err) : resolve(zip),
    ),
  );
}

function readEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on('entry', (e: yauzl.Entry) => {
      entries.push(e);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', reject);
    zip.readEntry();
  });
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) =>
    zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream))),
  );
}

export interface HostedFilesDeps {
  http: HttpCore;
  base: (signal?: AbortSignal) => Promise<URL>;
  /** Undefined when no OAuth 2.0 credentials are configured (Bulk File Download needs a bearer). */
  bearer: ((signal?: AbortSignal) => RequestAuth) | undefined;
  accountId: string;
  pollMs: number;
  pollAttempts: number;
  /** One ZIP transfer's time limit, and how often a transfer that breaks off is started. */
  downloadTimeoutMs: number;
  downloadAttempts: number;
  sleep: Sleep;
  logger: Logger;
}

export class BulkFileDownload {
  constructor(private readonly d: HostedFilesDeps) {}

  provider(conversationId: string): DisposableFileProvider {
    let result: Promise<BulkResult> | undefined;
    const zips: yauzl.ZipFile[] = [];
    let dir: string | undefined;
    let disposed = false;

    const load = async (): Promise<BulkResult> => {
      const ready = await this.request(conversationId);
      if (ready.kind === 'missing') return ready;
      const index = new Map<string, Indexed>();
      dir ??= await mkdtemp(join(tmpdir(), 'lp-files-'));
      for (const [n, link] of ready.urls.entries()) {
        const path = join(dir, `${n}.zip`);
        await this.download(link, path, conversationId, n + 1, ready.urls.length);
        const zip = await openZip(path);
        zips.push(zip);
        // The open descriptor keeps the bytes readable; unlinking now means no temp file outlives us.
        await unlink(path);
        for (const entry of await readEntries(zip)) {
          if (entry.fileName.endsWith('/')) continue;
          const name = basename(entry.fileName);
          index.set(name.toLowerCase(), { zip, entry, name });
        }
      }
      return { kind: 'ready', index };
    };

    const provider = async (ref: HostedFileRef): Promise<HostedFileContent> => {
      if (disposed) throw new Error(`hosted files of conversation ${conversationId} were already disposed`);
      result ??= load().catch((err: unknown) => {
        result = undefined; // a transient failure may be retried by a later call
        throw err;
      });
      const r = await result;
      if (r.kind === 'missing') return { status: 'missing', code: r.code, reason: r.reason };
      const wanted = basename(ref.relativePath);
      const hit = r.index.get(wanted.toLowerCase());
      if (!hit) {
        return {
          status: 'missing',
          code: 'not-in-archive',
          reason: `file ${wanted} is not in the Bulk File Download archive`,
        };
      }
      const ext = hit.name.slice(hit.name.lastIndexOf('.') + 1).toLowerCase();
      return {
        status: 'ok',
        content: await openEntry(hit.zip, hit.entry),
        filename: hit.name,
        contentType: CONTENT_TYPES[ext],
        size: hit.entry.uncompressedSize,
      };
    };

    return Object.assign(provider, {
      dispose: async () => {
        disposed = true;
        for (const zip of zips.splice(0)) zip.close();
        if (dir) await rm(dir, { recursive: true, force: true });
      },
    });
  }

  private async request(
    conversationId: string,
  ): Promise<{ kind: 'missing'; code: MissingFileCode; reason: string } | { kind: 'ready'; urls: string[] }> {
    if (!this.d.bearer) {
      return {
        kind: 'missing',
        code: 'no-credentials',
        reason: 'Bulk File Download needs OAuth 2.0 client credentials (LP_CLIENT_ID, LP_CLIENT_SECRET)',
      };
    }
    const base = await this.d.base();
    const root = `/v1/account/${encodeURIComponent(this.d.accountId)}/bulk-download-requests`;
    const createRes = await this.d.http.send({
      endpoint: 'files.create',
      describe: `Bulk File Download request for conversation ${conversationId}`,
      method: 'POST',
      url: new URL(root, base),
      json: { filter: { conversationId } },
      auth: this.d.bearer(),
      passStatuses: [403, 404],
    });
    if (createRes.status === 403 || createRes.status === 404) {
      await createRes.body?.cancel();
      return { kind: 'missing', code: 'not-enabled', reason: NOT_ENABLED_REASON };
    }
    const parsed = BulkRequestSchema.safeParse(await createRes.json().catch(() => undefined));
    if (!parsed.success) {
      throw new LivePersonError(
        `LivePerson Bulk File Download request for conversation ${conversationId} answered an unexpected shape`,
        'files.create',
        createRes.status,
      );
    }
    let state = parsed.data;
    for (let poll = 0; state.status !== 'READY' && state.status !== 'FAILED'; poll++) {
      if (poll >= this.d.pollAttempts) {
        throw new LivePersonError(
          `LivePerson Bulk File Download request ${state.requestId} (conversation ${conversationId}) still ${state.status} after ${poll} polls`,
          'files.status',
          undefined,
          true,
        );
      }
      await this.d.sleep(this.d.pollMs);
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
        code: 'request-failed',
        reason: `Bulk File Download request ${state.requestId} FAILED`,
      };
    }
    return { kind: 'ready', urls: state.downloadUrls ?? [] };
  }

  private async download(
    link: string,
    path: string,
    conversationId: string,
    n: number,
    of: number,
  ): Promise<void> {
    let url: URL;
    try {
      url = new URL(link);
    } catch {
      throw new LivePersonError(
        `LivePerson Bulk File Download gave an invalid archive link for conversation ${conversationId}`,
        'files.download',
      );
    }
    // A link, not an API: no credentials. The host check inside send() still applies. A transfer that
    // breaks mid-body is started again (send() only retries failures before the body).
    for (let attempt = 1; ; attempt++) {
      const res = await this.d.http.send({
        endpoint: 'files.download',
        describe: `Bulk File Download archive ${n} of ${of} (conversation ${conversationId})`,
        method: 'GET',
        url,
        timeoutMs: this.d.downloadTimeoutMs,
      });
      if (!res.body)
        throw new LivePersonError('LivePerson Bulk File Download archive had no body', 'files.download');
      try {
        await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(path));
        return;
      } catch (err) {
        if (attempt >= this.d.downloadAttempts) {
          throw new LivePersonError(
            `LivePerson Bulk File Download archive ${n} of ${of} (conversation ${conversationId}) broke off ${attempt} times: ${err instanceof Error ? err.message : String(err)}`,
            'files.download',
            undefined,
            true,
          );
        }
        this.d.logger.warn('Bulk File Download archive transfer broke off; downloading again', {
          conversationId,
        });
      }
    }
  }
}
