/**
 * The converter's public contract, shared by the CLI, the LivePerson client (which provides file bytes)
 * and the archive step. Implemented in lib/email/convert.ts.
 */
import type { Readable } from 'node:stream';

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
 * What a provider answers for one file: its bytes as a stream, or why they are not available for good.
 * `reason` is plain words for a reader of the status log (no internal identifiers).
 */
export type HostedFileContent =
  | { status: 'ok'; content: Readable | Buffer; filename?: string; contentType?: string; size?: number }
  | { status: 'missing'; code: MissingFileCode; reason: string };

/** Gives the bytes of hosted files. Called once per file, before the message is composed. */
export type HostedFileProvider = (ref: HostedFileRef) => Promise<HostedFileContent>;
