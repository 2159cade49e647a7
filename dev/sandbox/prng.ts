/**
 * A tiny seeded PRNG (mulberry32) and helpers. Our own because the sandbox needs byte-for-byte
 * reproducible output from a 32-bit seed and nothing else; a library would add nothing here.
 */
export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over a string, mixed with a seed: stable sub-seeds for ids, paths and files. */
export function hashSeed(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function int(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

export function chance(rng: Rng, p: number): boolean {
  return rng() < p;
}

/** An RFC 4122-shaped (version 4) UUID drawn from the PRNG. */
export function uuid(rng: Rng): string {
  const hex: string[] = [];
  for (let i = 0; i < 16; i++) hex.push(int(rng, 0, 255).toString(16).padStart(2, '0'));
  hex[6] = `4${hex[6]!.slice(1)}`;
  hex[8] = ((Number.parseInt(hex[8]!, 16) & 0x3f) | 0x80).toString(16).padStart(2, '0');
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** A digit string of the given length not starting with 0 (LivePerson-style numeric ids). */
export function digits(rng: Rng, length: number): string {
  let s = String(int(rng, 1, 9));
  while (s.length < length) s += String(int(rng, 0, 9));
  return s;
}
