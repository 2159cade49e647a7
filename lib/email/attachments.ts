/**
 * Hosted files of a conversation, read whole before the message is composed, so the transcript can give
 * each file's size and SHA-256 and the item's completeness is known up front:
 *
 * - A file's stream is spooled to a temporary file while it is hashed (never held in memory), then read
 *   again from there into the message. The temporary file is unlinked as soon as it is open, so none
 *   outlives the conversion; the open handle closes when the message stream ends or is destroyed.
 * - A provider that throws (a transient failure: throttling, 5xx, a transfer that broke off) or a stream
 *   that fails makes the conversion reject: the queue retries the whole conversation later, rather than
 *   storing an item without the file. Only a `missing` answer (permanent absence) makes the item partial.
 * - A file whose caption or path is LivePerson's privacy-deletion marker is `deleted-at-source` without
 *   asking the provider.
 * - Names are made safe and unique per message; the record's base64 preview is attached when the file
 *   itself is missing.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import {
  type HostedFileContent,
  type HostedFileProvider,
  type HostedFileRef,
  LP_DELETED_MARKER,
  MISSING_FILE_REASONS,
  type MissingFileCode,
} from './contract.js';
import { type ImageInfo, SNIFF_BYTES, sniffImage } from './images.js';
import { headerText } from './text.js';

const MIME_BY_TYPE: Record<string, string> = {
  JPG: 'image/jpeg',
  JPEG: 'image/jpeg',
  PNG: 'image/png',
  GIF: 'image/gif',
  PDF: 'application/pdf',
  TXT: 'text/plain',
  WEBP: 'image/webp',
  HEIC: 'image/heic',
  MP4: 'video/mp4',
  MP3: 'audio/mpeg',
};

export function contentTypeFor(fileType: string | undefined, override?: string): string {
  if (override && /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+$/.test(override.trim())) {
    return override.trim().toLowerCase();
  }
  return MIME_BY_TYPE[(fileType ?? '').toUpperCase()] ?? 'application/octet-stream';
}

/** Allocates file names that are safe in MIME headers and on disk, and unique within one message. */
export class FileNamer {
  private readonly used = new Set<string>();

  reserve(name: string): void {
    this.used.add(name.toLowerCase());
  }

  name(caption: string | undefined, fileType: string | undefined, fallback: string, prefix = ''): string {
    let base = headerText(caption)
      .replace(/[/\\:*?"<>|]+/g, '_')
      .replace(/^[.\s]+/, '')
      .slice(0, 120)
      .trim();
    if (!base) base = fallback;
    const ext = (fileType ?? '').toLowerCase().replace(/[^a-z0-9]/g, '');
    if (ext && !/\.[A-Za-z0-9]{1,8}$/.test(base)) base = `${base}.${ext}`;
    base = prefix + base;
    let candidate = base;
    const dot = base.lastIndexOf('.');
    const stem = dot > 0 ? base.slice(0, dot) : base;
    const suffix = dot > 0 ? base.slice(dot) : '';
    for (let n = 2; this.used.has(candidate.toLowerCase()); n++) candidate = `${stem} (${n})${suffix}`;
    this.used.add(candidate.toLowerCase());
    return candidate;
  }
}

/** A file as the message will carry it: name, type, size, SHA-256 and (for images) how to show it. */
export interface AttachedFile {
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  /** Set for PNG/JPEG/GIF/WebP bytes: shown inline through this Content-ID. */
  image?: ImageInfo;
  cid?: string;
}

export type FileOutcome =
  | ({ status: 'attached' } & AttachedFile)
  | { status: 'missing'; code: MissingFileCode; reason: string; preview?: AttachedFile };

export interface FileJob {
  ref: HostedFileRef;
  /** The message's number in the transcript (1-based). */
  messageNumber: number;
  sentAt?: number;
}

/** An attachment ready for MailComposer: Buffer content, or a stream over the spooled bytes. */
export interface PlannedAttachment extends AttachedFile {
  content: Buffer | (() => Readable);
}

export interface CollectedFiles {
  /** One per job, in the same order. */
  outcomes: FileOutcome[];
  /** In message order: each attached file, or the preview of a missing one. */
  attachments: PlannedAttachment[];
  /** Closes what was spooled and not handed to a stream (only needed when the message is never built). */
  release(): Promise<void>;
}

export interface CollectOptions {
  /** Where to spool file contents (default os.tmpdir()). */
  tempDir?: string;
  concurrency?: number;
  /** Content-ID for the i-th inline image of the message. */
  cidFor(index: number): string;
}

/** Base64 → Buffer only when the text really is base64 (a broken preview is not worth attaching). */
function decodePreview(preview: string | undefined): Buffer | undefined {
  if (!preview) return undefined;
  const body = preview.replace(/^data:[^,]*;base64,/, '').replace(/\s+/g, '');
  if (!body || body.length % 4 === 1 || !/^[A-Za-z0-9+/_-]+=*$/.test(body)) return undefined;
  const buf = Buffer.from(body, 'base64');
  return buf.length ? buf : undefined;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Measured {
  size: number;
  sha256: string;
  head: Buffer;
  content: Buffer | (() => Readable);
}

/** Temporary files of one conversion: created on first use, each unlinked once it is open for reading. */
class Spool {
  private dir: Promise<string> | undefined;
  private count = 0;
  private readonly idle = new Set<FileHandle>();

  constructor(private readonly base: string) {}

  async take(stream: Readable): Promise<Measured> {
    this.dir ??= mkdtemp(join(this.base, 'lp-eml-'));
    const path = join(await this.dir, String(this.count++));
    const hash = createHash('sha256');
    let size = 0;
    const head: Buffer[] = [];
    let headLength = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        if (headLength < SNIFF_BYTES) {
          head.push(chunk.subarray(0, SNIFF_BYTES - headLength));
          headLength += Math.min(chunk.length, SNIFF_BYTES - headLength);
        }
        callback(null, chunk);
      },
    });
    try {
      await pipeline(stream, tap, createWriteStream(path, { flags: 'wx' }));
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
    const handle = await open(path, 'r');
    this.idle.add(handle);
    // The open handle keeps the bytes readable; unlinked now, nothing is left behind whatever happens.
    await rm(path, { force: true });
    return {
      size,
      sha256: hash.digest('hex'),
      head: Buffer.concat(head),
      content: () => {
        this.idle.delete(handle);
        // autoClose: the handle closes when the stream ends, fails or is destroyed.
        return handle.createReadStream();
      },
    };
  }

  /** Removes the (by now empty) directory. */
  async done(): Promise<void> {
    if (this.dir) await rm(await this.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  async release(): Promise<void> {
    const handles = [...this.idle];
    this.idle.clear();
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
    await this.done();
  }
}

function isDeletedMarker(s: string | undefined): boolean {
  return s?.trim() === LP_DELETED_MARKER;
}

function missing(code: MissingFileCode): HostedFileContent {
  return { status: 'missing', code, reason: MISSING_FILE_REASONS[code] };
}

/**
 * Fetches and measures every file (at most `concurrency` at a time). Rejects when the provider throws or
 * a stream fails; whatever was spooled by then is released.
 */
export async function collectFiles(
  jobs: readonly FileJob[],
  provider: HostedFileProvider | undefined,
  namer: FileNamer,
  options: CollectOptions,
): Promise<CollectedFiles> {
  if (jobs.length === 0) return { outcomes: [], attachments: [], release: async () => undefined };
  const spool = new Spool(options.tempDir ?? tmpdir());
  const limit = pLimit(options.concurrency ?? 4);
  const fetchOne = async (ref: HostedFileRef): Promise<{ answer: HostedFileContent; bytes?: Measured }> => {
    if (isDeletedMarker(ref.caption) || isDeletedMarker(ref.relativePath)) {
      return { answer: missing('deleted-at-source') };
    }
    if (!provider) return { answer: missing('no-provider') };
    const answer = await provider(ref);
    if (answer.status !== 'ok') return { answer };
    const { content } = answer;
    if (Buffer.isBuffer(content)) {
      return {
        answer,
        bytes: {
          size: content.length,
          sha256: sha256(content),
          head: content.subarray(0, SNIFF_BYTES),
          content,
        },
      };
    }
    return { answer, bytes: await spool.take(content) };
  };
  // After a failure, no point fetching more: the conversion is going to be retried. Jobs still queued end
  // at once with that failure (p-limit's clearQueue would leave their promises pending for ever).
  let firstFailure: { reason: unknown } | undefined;
  const settled = await Promise.allSettled(
    jobs.map((job) =>
      limit(async () => {
        if (firstFailure) throw firstFailure.reason;
        try {
          return await fetchOne(job.ref);
        } catch (err) {
          firstFailure ??= { reason: err };
          throw err;
        }
      }),
    ),
  );
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) {
    // Streams the provider handed over but that were never read must not stay open.
    jobs.forEach((_, i) => {
      const s = settled[i];
      if (
        s?.status === 'fulfilled' &&
        s.value.answer.status === 'ok' &&
        !Buffer.isBuffer(s.value.answer.content)
      )
        s.value.answer.content.destroy();
    });
    await spool.release();
    throw failure.reason;
  }
  await spool.done();

  const outcomes: FileOutcome[] = [];
  const attachments: PlannedAttachment[] = [];
  let images = 0;
  const attach = (
    file: Omit<AttachedFile, 'image' | 'cid'>,
    head: Buffer,
    content: PlannedAttachment['content'],
  ) => {
    const image = sniffImage(head);
    const attached: AttachedFile = image
      ? { ...file, contentType: image.contentType, image, cid: options.cidFor(images++) }
      : file;
    attachments.push({ ...attached, content });
    return attached;
  };
  jobs.forEach((job, i) => {
    const { answer, bytes } = (settled[i] as PromiseFulfilledResult<Awaited<ReturnType<typeof fetchOne>>>)
      .value;
    const { ref } = job;
    const fallback = `file-${i + 1}`;
    if (answer.status === 'ok' && bytes) {
      const filename = namer.name(ref.caption ?? answer.filename, ref.fileType, fallback);
      const file = { filename, contentType: contentTypeFor(ref.fileType, answer.contentType), ...bytes };
      const { head: _head, content: _content, ...meta } = file;
      outcomes.push({ status: 'attached', ...attach(meta, bytes.head, bytes.content) });
      return;
    }
    const code = answer.status === 'missing' ? answer.code : 'no-provider';
    const outcome: FileOutcome = { status: 'missing', code, reason: MISSING_FILE_REASONS[code] };
    const preview = decodePreview(isDeletedMarker(ref.preview) ? undefined : ref.preview);
    if (preview) {
      // A thumbnail's own type decides its extension (LivePerson's are PNG even for a JPG file).
      const sniffed = sniffImage(preview)?.contentType.slice('image/'.length).replace('jpeg', 'jpg');
      const stem = (ref.caption ?? '').replace(/\.[A-Za-z0-9]{1,8}$/, '');
      const filename = sniffed
        ? namer.name(stem, sniffed, fallback, 'preview-')
        : namer.name(ref.caption, ref.fileType, fallback, 'preview-');
      outcome.preview = attach(
        {
          filename,
          contentType: contentTypeFor(ref.fileType),
          size: preview.length,
          sha256: sha256(preview),
        },
        preview,
        preview,
      );
    }
    outcomes.push(outcome);
  });
  return { outcomes, attachments, release: () => spool.release() };
}
