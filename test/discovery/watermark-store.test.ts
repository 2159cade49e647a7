import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import { WatermarkStore } from '../../lib/discovery/watermark-store.js';

const store = () =>
  new WatermarkStore(
    TableClient.fromConnectionString(inject('storageConnection'), `wm${randomUUID().slice(0, 8)}`, {
      allowInsecureConnection: true,
    }),
  );

describe('WatermarkStore', () => {
  it('is empty at first, then holds the advanced value per account', async () => {
    const s = store();
    expect(await s.get('acct')).toBeUndefined();
    expect(await s.advance('acct', 1000, undefined)).toBe(1000);
    const wm = await s.get('acct');
    expect(wm?.value).toBe(1000);
    expect(await s.advance('acct', 2000, wm)).toBe(2000);
    expect((await s.get('acct'))?.value).toBe(2000);
    expect(await s.get('other')).toBeUndefined();
  });

  it('never moves backwards when two runs race with the same starting point', async () => {
    const s = store();
    await s.advance('a', 100, undefined);
    const seen = await s.get('a');
    // The later run commits first; the slower, earlier run must not drag the watermark back.
    expect(await s.advance('a', 300, seen)).toBe(300);
    expect(await s.advance('a', 200, seen)).toBe(300);
    expect((await s.get('a'))?.value).toBe(300);
  });
});
