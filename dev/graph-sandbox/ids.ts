/**
 * Deterministic identifiers and a seeded PRNG for the Graph sandbox: directory GUIDs from a seed and a name,
 * Outlook-style item ids from a seed and a counter, and fault draws that repeat from run to run.
 */
import { createHash } from 'node:crypto';

export type Rng = () => number;

/** mulberry32: a 32-bit seeded PRNG. Ours because fault draws must repeat from a seed and need nothing more. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function digest(seed: number, name: string): Buffer {
  return createHash('sha256')
    .update(`${seed >>> 0}:${name}`)
    .digest();
}

/** A version-4-shaped GUID that depends only on the seed and the name. */
export function stableGuid(seed: number, name: string): string {
  const b = digest(seed, name).subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * An opaque Outlook-style id ('AAMkAD…=' for items, 'AQMkAD…' for folders): URL-safe base64 with '='
 * padding kept, as Graph returns them, so a client that forgets to encode the '=' in a path shows up.
 */
export function outlookId(
  kind: 'item' | 'folder' | 'attachment' | 'session',
  seed: number,
  name: string,
): string {
  const prefix = { item: 'AAMkAD', folder: 'AQMkAD', attachment: 'AAMkAT', session: 'AAMkAS' }[kind];
  const body = digest(seed, `${kind}:${name}`).subarray(0, 25).toString('base64url');
  return `${prefix}${body}=`;
}

/** Random URL-safe token (upload URLs, request ids are random: they are not part of what tests compare). */
export function randomToken(rng: Rng, bytes = 24): string {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = Math.floor(rng() * 256);
  return b.toString('base64url');
}
