/**
 * The source record as attached to the item, and the item's content version.
 *
 * The attachment is the record's canonical JSON: object keys sorted at every level, 2-space indent, a
 * final newline. The version is the SHA-256 of exactly those bytes, so it is computed once over text
 * that has to be produced anyway, key order never matters, and any change to the data gives a new
 * version (and a new Message-ID). A reader can check it: sha256sum of the attached JSON = the version.
 */
import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level. A sorted copy handed to the native JSON.stringify measured
 * faster than a stringify replacer or a hand-written serialiser.
 */
export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(sortedCopy(value), null, indent) ?? 'null';
}

function sortedCopy(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function')
    return sortedCopy((v as { toJSON(): unknown }).toJSON());
  if (Array.isArray(v)) return v.map(sortedCopy);
  const keys = Object.keys(v);
  const out: Record<string, unknown> = {};
  // Most objects are small; sort() on an already sorted list is cheap too.
  for (const k of keys.length > 1 ? keys.sort() : keys) {
    const value = sortedCopy((v as Record<string, unknown>)[k]);
    // JSON.parse makes "__proto__" an ordinary key; assigning it would set the copy's prototype instead.
    if (k === '__proto__')
      Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    else out[k] = value;
  }
  return out;
}

/** The attachment bytes (canonical, indented JSON + LF) and their SHA-256, which is the content version. */
export function sourceJson(record: unknown): { json: Buffer; sha256: string } {
  const json = Buffer.from(`${canonicalJson(record, 2)}\n`, 'utf8');
  return { json, sha256: createHash('sha256').update(json).digest('hex') };
}

export function contentVersion(record: unknown): string {
  return sourceJson(record).sha256;
}
