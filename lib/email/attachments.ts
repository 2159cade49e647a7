/**
 * Hosted files of a conversation: ask the provider for each file's bytes before composing (so the item's
 * completeness is known up front), pick safe, unique attachment names, and fall back to the record's
 * base64 preview when the file itself cannot be had.
 */
import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { HostedFileContent, HostedFileProvider, HostedFileRef } from './contract.js';
import { clip, headerText } from './text.js';

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

export interface PlannedAttachment {
  filename: string;
  contentType: string;
  content: Readable | Buffer;
  /** sha256 etc. are not computed here: attachments are streamed, never held whole. */
}

export type FileOutcome =
  | { status: 'attached'; filename: string }
  | { status: 'missing'; reason: string; previewFilename?: string };

export interface FileJob {
  ref: HostedFileRef;
  /** Index of the message in the rendered order, for the transcript. */
  key: string;
}

/** Base64 → Buffer only when the text really is base64 (a broken preview is not worth attaching). */
function decodePreview(preview: string | undefined): Buffer | undefined {
  if (!preview) return undefined;
  const body = preview.replace(/^data:[^,]*;base64,/, '').replace(/\s+/g, '');
  if (!body || body.length % 4 === 1 || !/^[A-Za-z0-9+/_-]+=*$/.test(body)) return undefined;
  const buf = Buffer.from(body, 'base64');
  return buf.length ? buf : undefined;
}

function describe(err: unknown): string {
  return headerText(err instanceof Error ? err.message : String(err)).slice(0, 300) || 'unknown error';
}

/**
 * Fetches every file (at most `concurrency` at a time) and returns the attachments in message order plus
 * what happened to each file, keyed by FileJob.key.
 */
export async function collectFiles(
  jobs: readonly FileJob[],
  provider: HostedFileProvider | undefined,
  namer: FileNamer,
  concurrency = 4,
): Promise<{ attachments: PlannedAttachment[]; outcomes: Map<string, FileOutcome>; reasons: string[] }> {
  const limit = pLimit(concurrency);
  const answers: HostedFileContent[] = await Promise.all(
    jobs.map((job) =>
      provider
        ? limit(async (): Promise<HostedFileContent> => {
            try {
              return await provider(job.ref);
            } catch (err) {
              return { status: 'missing', code: 'request-failed', reason: describe(err) };
            }
          })
        : Promise.resolve<HostedFileContent>({
            status: 'missing',
            code: 'no-provider',
            reason: 'no file provider configured',
          }),
    ),
  );
  const attachments: PlannedAttachment[] = [];
  const outcomes = new Map<string, FileOutcome>();
  const reasons: string[] = [];
  jobs.forEach((job, i) => {
    const answer = answers[i] as HostedFileContent;
    const { ref } = job;
    const fallback = `file-${i + 1}`;
    if (answer.status === 'ok') {
      const filename = namer.name(ref.caption ?? answer.filename, ref.fileType, fallback);
      attachments.push({
        filename,
        contentType: contentTypeFor(ref.fileType, answer.contentType),
        content: answer.content,
      });
      outcomes.set(job.key, { status: 'attached', filename });
      return;
    }
    const reason = clip(answer.reason, 300) || 'not available';
    const shown = clip(ref.caption, 120) || clip(ref.relativePath, 120);
    const outcome: FileOutcome = { status: 'missing', reason };
    const preview = decodePreview(ref.preview);
    if (preview) {
      outcome.previewFilename = namer.name(ref.caption, ref.fileType, fallback, 'preview-');
      attachments.push({
        filename: outcome.previewFilename,
        contentType: contentTypeFor(ref.fileType),
        content: preview,
      });
    }
    outcomes.set(job.key, outcome);
    reasons.push(
      `file ${shown} (${clip(ref.messageId, 120)}) not retrieved: ${reason}${preview ? ' (preview attached)' : ''}`,
    );
  });
  return { attachments, outcomes, reasons };
}
