/**
 * The source record as attached to the item, and the item's content version.
 *
 * The attachment is the record's canonical JSON: object keys sorted at every level (by UTF-16 code
 * units), no insignificant whitespace, as JSON.stringify writes strings and numbers (the form of RFC 8785,
 * JCS). The version is the SHA-256 of exactly those bytes: computed once over text that has to be
 * produced anyway, key order never matters, any change to the data gives a new version (and a new
 * Message-ID), and a reader can check it (sha256sum of the attached JSON = X-LivePerson-Content-Version).
 */
import { createHash } from 'node:crypto';
import { utf8 } from './mime-parts.js';

/**
 * JSON with object keys sorted at every level. A sorted copy handed to the native JSON.stringify measured
 * faster than a stringify replacer or a hand-written serialiser.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedCopy(value)) ?? 'null';
}

/**
 * The value with object keys sorted at every level. Objects and arrays that are already in that order
 * (most small ones are) are returned as they are, not copied: the copy is only an input for stringify.
 */
function sortedCopy(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function')
    return sortedCopy((v as { toJSON(): unknown }).toJSON());
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const item = sortedCopy(v[i]);
      if (out) out[i] = item;
      else if (item !== v[i]) {
        out = v.slice(0, i);
        out[i] = item;
      }
    }
    return out ?? v;
  }
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = (keys[i - 1] as string) < (keys[i] as string);
  if (sorted) {
    // Copied only from the first value that changed; until then the object may be kept as it is.
    let out: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      const x = obj[k];
      const y = sortedCopy(x);
      if (out) set(out, k, y);
      else if (y !== x) {
        out = {};
        for (let j = 0; j < i; j++) set(out, keys[j] as string, obj[keys[j] as string]);
        set(out, k, y);
      }
    }
    return out ?? obj;
  }
  keys.sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) set(out, k, sortedCopy(obj[k]));
  return out;
}

function set(out: Record<string, unknown>, k: string, value: unknown): void {
  // JSON.parse makes "__proto__" an ordinary key; assigning it would set the copy's prototype instead.
  if (k === '__proto__')
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  else out[k] = value;
}

/** The attachment bytes (canonical JSON, UTF-8) and their SHA-256, which is the content version. */
export function sourceJson(record: unknown): { json: Buffer; sha256: string } {
  const json = utf8(canonicalJson(record));
  return { json, sha256: createHash('sha256').update(json).digest('hex') };
}

export function contentVersion(record: unknown): string {
  return sourceJson(record).sha256;
}
