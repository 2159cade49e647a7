import { describe, expect, it } from 'vitest';
import { isPlainKey, safeKey } from '../lib/ids.js';

describe('safeKey', () => {
  it('keeps plain identifiers as they are', () => {
    for (const id of ['8f2c1a9e-1c2b-4d3e-9f00-0a1b2c3d4e5f', 'conv_1', 'agent@bank.example', 'a.b'])
      expect(safeKey(id)).toBe(id);
  });

  it('hashes anything else, and never merges two different identifiers', () => {
    const ids = [
      ' same-id',
      'same-id ',
      '.',
      '..',
      'a/b',
      'a|b',
      'x'.repeat(121),
      'x'.repeat(2000),
      '\ud800',
      '\udc00',
      'ü',
      '~abc',
      '%41',
    ];
    const keys = ids.map(safeKey);
    for (const [i, k] of keys.entries()) {
      expect(k, ids[i]).toMatch(/^~[0-9a-f]{40}$/);
      expect(isPlainKey(ids[i]!)).toBe(false);
    }
    expect(new Set(keys).size).toBe(ids.length);
    expect(safeKey(' same-id')).not.toBe(safeKey('same-id'));
  });
});
