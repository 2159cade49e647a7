/**
 * The content version of a record: sha256 of its canonical JSON (keys sorted at every level), so key
 * order never matters and any change to the data gives a new version (and a new Message-ID).
 */
import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level: the input of the content version. A sorted copy handed to
 * the native JSON.stringify measured faster than a stringify replacer or a hand-written serialiser.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedCopy(value)) ?? 'null';
}

function sortedCopy(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function')
    return sortedCopy((v as { toJSON(): unknown }).toJSON());
  if (Array.isArray(v)) return v.map(sortedCopy);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = sortedCopy((v as Record<string, unknown>)[k]);
  return out;
}

export function contentVersion(record: unknown): string {
  return createHash('sha256').update(canonicalJson(record)).digest('hex');
}
