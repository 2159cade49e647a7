/**
 * Outside identifiers (conversation IDs, mailbox addresses) as storage keys: blob path segments and
 * Table PartitionKey/RowKey parts. An identifier is never altered (no trimming, no case folding): its key
 * is the identifier itself when that is plainly safe everywhere, otherwise `~` followed by a SHA-256 of
 * it. The original always travels beside the key (a column, blob metadata), so nothing is lost.
 *
 * Plain means: 1-120 characters of [A-Za-z0-9._@+=-], not starting with `.` (so never `.` or `..`),
 * and no `~`, `|`, `/`, `%`, whitespace or control characters, which Table keys forbid, blob paths
 * interpret, or this project uses as separators.
 */
import { createHash } from 'node:crypto';

const PLAIN = /^[A-Za-z0-9_@+=-][A-Za-z0-9._@+=-]{0,119}$/;

/** True when `id` is its own key. */
export function isPlainKey(id: string): boolean {
  return PLAIN.test(id);
}

/**
 * The storage key of an identifier. Hashed over its UTF-16 code units, so IDs that differ only in a
 * lone surrogate, whitespace or a control character get different keys (UTF-8 would fold lone
 * surrogates into U+FFFD and merge them).
 */
export function safeKey(id: string): string {
  if (PLAIN.test(id)) return id;
  return `~${createHash('sha256').update(Buffer.from(id, 'utf16le')).digest('hex').slice(0, 40)}`;
}
