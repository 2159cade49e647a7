/**
 * The converter's public contract, shared by the CLI, the LivePerson client (which provides file bytes)
 * and the archive step. Implemented in lib/email/convert.ts.
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';

/** A hosted file as a conversation message refers to it (messageData.file). */
export interface HostedFileRef {
  conversationId: string;
  messageId: string;
  relativePath: string;
  fileType?: string;
  caption?: string;
  /** base64 thumbnail from the by-ID method, when the record carries one. */
  preview?: string;
}

/**
 * Why a hosted file is absent from an item for good. A transient failure (throttling, 5xx, a request still
 * in progress, a transfer that broke off) is never one of these: the provider throws, and the whole
 * conversation is retried through the queue instead of being stored without the file.
 */
export const MISSING_FILE_CODES = [
  /** LivePerson deleted it (privacy deletion / redaction): it will never come back. */
  'deleted-at-source',
  /** The Bulk File Download archive does not hold it. */
  'not-in-archive',
  /** Several archive entries could be it: never guess which bytes are the evidence. */
  'ambiguous-name',
  /** LivePerson pointed at a host outside the allow-list. */
  'refused-host',
  /** Over a configured size, entry-count or compression-ratio limit. */
  'too-large',
  /** The archive or entry is malformed (bad ZIP, unsafe name). */
  'unsafe-archive',
  /** Bulk File Download is not enabled for the account (403/404). */
  'not-enabled',
  /** No OAuth 2.0 credentials configured, so Bulk File Download cannot be called. */
  'no-credentials',
  /** LivePerson ended the Bulk File Download request as FAILED. */
  'request-failed',
  /** The converter was given no file provider (offline conversion). */
  'no-provider',
] as const;
export type MissingFileCode = (typeof MISSING_FILE_CODES)[number];

/**
 * Each code in plain words, as the status log and the transcript show it: no internal identifiers, so
 * the same missing file always reads the same.
 */
export const MISSING_FILE_REASONS: Record<MissingFileCode, string> = {
  'deleted-at-source': 'file removed at LivePerson (privacy deletion)',
  'not-in-archive': "file not in LivePerson's download archive",
  'ambiguous-name': "several files in LivePerson's download archive have this name",
  'refused-host': 'LivePerson pointed to a download host that is not allowed',
  'too-large': 'file over the size limit',
  'unsafe-archive': "LivePerson's download archive is damaged or unsafe",
  'not-enabled': 'file download is not enabled for the LivePerson account',
  'no-credentials': 'no LivePerson credentials for file download are configured',
  'request-failed': 'LivePerson could not prepare the file download',
  'no-provider': 'files are not fetched in this conversion (offline)',
};

/** What LivePerson writes in place of data removed by a privacy deletion. */
export const LP_DELETED_MARKER = '** LP deleted data **';

/**
 * What a provider answers for one file: its bytes as a stream, or why they are not available for good.
 * `reason` is plain words for a reader of the status log (no internal identifiers).
 */
export type HostedFileContent =
  | { status: 'ok'; content: Readable | Buffer; filename?: string; contentType?: string; size?: number }
  | { status: 'missing'; code: MissingFileCode; reason: string };

/**
 * Gives the bytes of hosted files. Called once per file, before the message is composed. Throw for a
 * transient failure (the conversion rejects and is retried later); answer `missing` only for good.
 */
export type HostedFileProvider = (ref: HostedFileRef) => Promise<HostedFileContent>;

/**
 * One hosted file of a conversation as the item holds it (ConversionResult.files, in message order):
 * what was attached, with its size and SHA-256, or why it is missing.
 */
export const FileManifestEntrySchema = z.object({
  /** The attachment's file name; for a missing file, its display name (caption or path). */
  name: z.string(),
  contentType: z.string(),
  /** Bytes attached (attached files only). */
  size: z.number().int().nonnegative().optional(),
  /** SHA-256 (hex) of the bytes attached (attached files only). */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** The LivePerson message that carried the file. */
  messageId: z.string(),
  /** When that message was sent, epoch ms. */
  sentAt: z.number().int().optional(),
  status: z.enum(['attached', 'missing']),
  code: z.enum(MISSING_FILE_CODES).optional(),
  /** Plain words (MISSING_FILE_REASONS), for a missing file. */
  reason: z.string().optional(),
  /** Shown inline in the HTML transcript (an image, referenced by Content-ID); still a normal attachment. */
  inline: z.boolean(),
});
export type FileManifestEntry = z.infer<typeof FileManifestEntrySchema>;
