/** The status log's failure path: row keys from safeKey, unreadable-message rows. */
import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import { safeKey } from '../../lib/ids.js';
import { silentLogger } from '../../lib/log.js';
import { StatusLog } from '../../lib/statuslog/status-log.js';

function newLog() {
  const table = TableClient.fromConnectionString(
    inject('storageConnection'),
    `fr${randomUUID().slice(0, 8)}`,
    {
      allowInsecureConnection: true,
    },
  );
  return new StatusLog(table, silentLogger);
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('StatusLog failure rows', () => {
  it('records any ID (lone surrogate, over 1 KiB, whitespace variants, . and ..) as its own row, the ID kept as it is', async () => {
    const log = newLog();
    const ids = ['\ud800', '\udc00', 'x'.repeat(1100), ' same-id', 'same-id', '.', '..', 'a/b#c?d'];
    for (const conversationId of ids)
      await log.recordFailed({ day: '2024-03-04', conversationId, reason: 'test', traceparent: undefined });
    const rows = await all(log.range('2024-03-04', '2024-03-04'));
    expect(rows.map((r) => r.conversationId).sort()).toEqual([...ids].sort());
    for (const r of rows) expect(r.rowKey).toBe(`${safeKey(r.conversationId)}|failed`);
    // Each can be found again by its own ID (the prefix query a poison handler uses).
    for (const id of ids)
      expect((await all(log.conversationRows('2024-03-04', id))).map((r) => r.conversationId)).toEqual([id]);
  });

  it('an unreadable message gets one row keyed by its body hash, with the queue, size and time; again = same row', async () => {
    const log = newLog();
    const unreadable = {
      day: '2024-03-05',
      queue: 'archive-conversations',
      bodySha256: 'b'.repeat(64),
      bodySize: 15,
      reason: 'queue message could not be read: the message is not JSON',
      at: '2024-03-05T10:00:00.000Z',
    };
    await log.recordUnreadable(unreadable);
    await log.recordUnreadable(unreadable);
    const rows = await all(log.range('2024-03-05', '2024-03-05'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      rowKey: `~unreadable|${'b'.repeat(40)}`,
      conversationId: '',
      version: 'unreadable',
      status: 'failed',
      queue: 'archive-conversations',
      bodySha256: 'b'.repeat(64),
      bodySize: 15,
    });
  });
});
