/**
 * The one interface both import modes sit behind (GRAPH_IMPORT_MODE): `importMime` (default; Graph beta
 * `mailFolder: importMime`, which keeps the full MIME) and `json` (v1.0 JSON create with PR_MESSAGE_FLAGS
 * so the item is not a draft, its original times and headers, and its attachments).
 *
 * Idempotent by Message-ID: before creating a message the importer looks it up in the folder; one that is
 * there already is reported `found`, never created twice. (The caller's claim on the delivery records that
 * a create may follow, so a later `found` can be told apart from an item that was there before.)
 */
import type { OmittedFile } from './import-plan.js';
import type { ItemSource } from './item-source.js';
import type { MimeIndex } from './mime-index.js';

export interface StoredItem {
  source: ItemSource;
  index: MimeIndex;
  /** container/path of the archived .eml, named in notices. */
  archivePath: string;
  sha256: string;
  messageId: string;
}

export interface MailboxTarget {
  /** Graph user id (or UPN) of the mailbox. */
  user: string;
  address: string;
  folderId: string;
}

export interface ImportedMessage {
  messageId: string;
  graphId: string;
  /** created now, or found already in the folder. */
  state: 'created' | 'found';
}

export interface ImportOutcome {
  messages: ImportedMessage[];
  /** Files left out of the mailbox copy (over the mailbox limit). */
  omitted: OmittedFile[];
}

export interface MailboxImporter {
  readonly mode: 'importMime' | 'json';
  import(item: StoredItem, target: MailboxTarget): Promise<ImportOutcome>;
}

/** Time allowed for one upload: a minute, plus the body at a pessimistic 256 KB/s. */
export function uploadTimeoutMs(bytes: number): number {
  return 60_000 + Math.ceil(bytes / (256 * 1024)) * 1000;
}
