import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createConversionPool } from '../../lib/email/batch.js';
import { ConversionError, convertConversation } from '../../lib/email/convert.js';
import { UsersResponseSchema, usersDirectory } from '../../lib/liveperson/users-schema.js';
import { emlProblems, readAll } from './eml-assertions.js';

const records = (
  JSON.parse(
    readFileSync(new URL('../fixtures/liveperson/messaging-search-response.json', import.meta.url), 'utf8'),
  ) as { conversationHistoryRecords: unknown[] }
).conversationHistoryRecords;
const users = usersDirectory(
  UsersResponseSchema.parse(
    JSON.parse(readFileSync(new URL('../fixtures/liveperson/users.json', import.meta.url), 'utf8')),
  ),
);

const pool = createConversionPool({ size: 2, users });
afterAll(() => pool.close());

describe('conversion pool (worker threads)', () => {
  it('gives the same bytes and metadata as converting in-process', async () => {
    const pooled = await Promise.all(records.map((r, i) => pool.convert(r, i)));
    for (const [i, r] of records.entries()) {
      const local = await convertConversation(r, { users, recordIndex: i });
      const bytes = await readAll(local.eml);
      const p = pooled[i];
      expect(p?.messageId).toBe(local.messageId);
      expect(p?.to).toEqual(local.to);
      expect(p?.partialReasons).toEqual(local.partialReasons);
      expect(p?.startTime).toEqual(local.startTime);
      expect(p?.eml.equals(bytes)).toBe(true);
      expect(Buffer.isBuffer(p?.sourceJson) && p.sourceJson.equals(local.sourceJson)).toBe(true);
      expect(emlProblems(p?.eml as Buffer)).toEqual([]);
    }
  });

  it('rejects a bad record with a ConversionError naming record and field, and keeps working', async () => {
    const bad = structuredClone(records[1]) as { messageRecords: { seq: unknown }[] };
    (bad.messageRecords[0] as { seq: unknown }).seq = 'first';
    const err = await pool.convert(bad, 7).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConversionError);
    expect((err as ConversionError).field).toBe('messageRecords[0].seq');
    expect((err as ConversionError).recordIndex).toBe(7);
    await expect(
      pool.convert({ info: { conversationId: 'x', startTimeL: 1, hook: () => 1 } }),
    ).rejects.toThrow(/could not be cloned/);
    const ok = await pool.convert(records[0]);
    expect(ok.eml.length).toBeGreaterThan(1000);
  });
});
