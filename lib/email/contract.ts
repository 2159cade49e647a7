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

/** What a provider answers for one file: its bytes as a stream, or why they are not available. */
export type HostedFileContent =
  | { status: 'ok'; content: Readable | Buffer; filename?: string; contentType?: string; size?: number }
  | { status: 'missing'; reason: string };

/** Gives the bytes of hosted files. Called once per file, before the message is composed. */
export type HostedFileProvider = (ref: HostedFileRef) => Promise<HostedFileContent>;
