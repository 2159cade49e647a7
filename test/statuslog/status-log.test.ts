import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { summarize } from '../../lib/statuslog/log-export.js';
import { joinedItems } from '../../lib/statuslog/log-rows.js';
import { type ArchivedItem, DeliveryLog, StatusLog } from '../../lib/statuslog/status-log.js';

function newLog() {
  const table = TableClient.fromConnectionString(
    inject('storageConnection'),
    `st${randomUUID().slice(0, 8)}`,
    {
      allowInsecureConnection: true,
    },
  );
  return new StatusLog(table, silentLogger);
}

const item = (over: Partial<ArchivedItem> = {}): ArchivedItem => ({
  day: '2024-03-04',
  conversationId: 'c1',
  version: 'v1',
  status: 'archived',
  conversationStart: '2024-03-04T09:00:00.000Z',
  archivedAt: '2024-03-05T00:00:00.000Z',
  blobPath: 'archive/2024/03/04/c1/v1.eml',
  size: 100,
  sha256: 'a'.repeat(64),
  addresses: ['a@x.com'],
  counts: { messages: 1, files: 0, filesAttached: 0, participants: 2 },
  ...over,
});

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('StatusLog', () => {
  it('upsert is idempotent: recording the same item twice gives one row', async () => {
    const log = newLog();
    await log.recordArchived(item());
    await log.recordArchived(item());
    const rows = await all(log.range('2024-03-01', '2024-03-31'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ conversationId: 'c1', version: 'v1', status: 'archived', size: 100 });
  });

  it('range reads only the requested days, in day order, filtered by status', async () => {
    const log = newLog();
    await log.recordArchived(item({ day: '2024-03-03', conversationId: 'early' }));
    await log.recordArchived(item({ day: '2024-03-04', conversationId: 'in1' }));
    await log.recordArchived(
      item({ day: '2024-03-05', conversationId: 'in2', status: 'partial', reason: 'x' }),
    );
    await log.recordArchived(item({ day: '2024-03-06', conversationId: 'late' }));
    await log.recordFailed({
      day: '2024-03-05',
      conversationId: 'bad',
      reason: 'cannot convert (field info)',
    });
    const rows = await all(log.range('2024-03-04', '2024-03-05'));
    expect(rows.map((r) => r.conversationId)).toEqual(['in1', 'bad', 'in2']);
    const partial = await all(log.range('2024-03-01', '2024-03-31', ['partial', 'failed']));
    expect(partial.map((r) => r.status).sort()).toEqual(['failed', 'partial']);
  });

  it('pages through more rows than one service page (1,000)', async () => {
    const log = newLog();
    await log.ensure();
    const table = (log as unknown as { table: TableClient }).table;
    const actions = Array.from({ length: 1100 }, (_, i) => ({
      partitionKey: '2024-01-01',
      rowKey: `c${String(i).padStart(5, '0')}|v`,
      conversationId: `c${i}`,
      version: 'v',
      status: 'archived',
    }));
    for (let i = 0; i < actions.length; i += 100)
      await table.submitTransaction(actions.slice(i, i + 100).map((e) => ['create', e] as const));
    const rows = await all(log.range('2024-01-01', '2024-01-01'));
    expect(rows).toHaveLength(1100);
  });

  it('an open conversation has one open row until its item replaces it, and counts as found in the summary', async () => {
    const log = newLog();
    const open = {
      day: '2024-03-04',
      conversationId: 'c1',
      accountId: 'acc',
      conversationStart: '2024-03-04T09:00:00.000Z',
    };
    expect(await log.recordOpen(open)).toBe('recorded');
    expect(await log.recordOpen(open)).toBe('recorded'); // found again by the next run: still one row
    let rows = await all(log.range('2024-03-01', '2024-03-31'));
    expect(rows).toEqual([
      expect.objectContaining({ conversationId: 'c1', status: 'open', version: 'open' }),
    ]);
    const [day] = await all(summarize(joinedItems(log.entities('2024-03-04', '2024-03-04'))));
    expect(day).toMatchObject({ itemsOpen: 1, itemsFoundAtSource: 1, itemsImportPending: 0 });

    await log.recordArchived(item());
    rows = await all(log.range('2024-03-01', '2024-03-31'));
    expect(rows.map((r) => r.status)).toEqual(['archived']);
    // A discovery run that still saw it open (index lag) does not bring the open row back.
    expect(await log.recordOpen(open)).toBe('archived');
    expect((await all(log.range('2024-03-01', '2024-03-31'))).map((r) => r.status)).toEqual(['archived']);
  });

  it('a later success supersedes a failure; a stale failure after a success is not recorded', async () => {
    const log = newLog();
    await log.recordFailed({ day: '2024-03-04', conversationId: 'c1', reason: 'boom', attempts: 5 });
    expect((await all(log.range('2024-03-04', '2024-03-04'))).map((r) => r.status)).toEqual(['failed']);
    await log.recordArchived(item());
    expect((await all(log.range('2024-03-04', '2024-03-04'))).map((r) => r.status)).toEqual(['archived']);
    const outcome = await log.recordFailed({
      day: '2024-03-04',
      conversationId: 'c1',
      reason: 'late poison',
      unlessArchivedAfter: '2024-03-04T12:00:00.000Z',
    });
    expect(outcome).toBe('superseded');
    expect((await all(log.range('2024-03-04', '2024-03-04'))).map((r) => r.status)).toEqual(['archived']);
  });

  it('counts concurrent duplicates without losing increments, and the summary adds up', async () => {
    const log = newLog();
    await log.recordArchived(item());
    await Promise.all(Array.from({ length: 5 }, () => log.countDuplicate('2024-03-04', 'c1', 'v1')));
    await log.recordArchived(item({ conversationId: 'c2', status: 'partial', reason: 'file missing' }));
    await log.recordFailed({ day: '2024-03-04', conversationId: 'c3', reason: 'boom' });
    await log.recordArchived(item({ day: '2024-03-05', conversationId: 'c4' }));
    const rows = await all(log.range('2024-03-04', '2024-03-05'));
    expect(rows.find((r) => r.conversationId === 'c1')?.duplicatesSkipped).toBe(5);
    const summary = await all(
      summarize(joinedItems(log.entities('2024-03-03', '2024-03-06')), {
        from: '2024-03-03',
        to: '2024-03-06',
      }),
    );
    const zero = {
      itemsFoundAtSource: 0,
      itemsArchived: 0,
      itemsPartiallyArchived: 0,
      itemsSkippedDuplicates: 0,
      itemsFailed: 0,
      itemsOpen: 0,
      itemsAvailableForImport: 0,
      itemsImported: 0,
      itemsPartiallyImported: 0,
      itemsImportSkipped: 0,
      itemsImportFailed: 0,
      itemsImportPending: 0,
    };
    // Found at source counts each item once; redeliveries of a stored version are duplicates, not finds.
    expect(summary).toEqual([
      { day: '2024-03-03', ...zero },
      {
        day: '2024-03-04',
        ...zero,
        itemsFoundAtSource: 3,
        itemsArchived: 1,
        itemsPartiallyArchived: 1,
        itemsSkippedDuplicates: 5,
        itemsFailed: 1,
        itemsImportPending: 2,
      },
      { day: '2024-03-05', ...zero, itemsFoundAtSource: 1, itemsArchived: 1, itemsImportPending: 1 },
      { day: '2024-03-06', ...zero },
    ]);
    // The summary never lists days after today.
    const upToToday = await all(
      summarize(joinedItems(log.entities('2024-03-03', '2024-03-06')), {
        from: '2024-03-03',
        to: '2024-03-06',
        today: '2024-03-04',
      }),
    );
    expect(upToToday.map((d) => d.day)).toEqual(['2024-03-03', '2024-03-04']);
  });

  it("a delivery claim records the queue message's attempt, on a new row and on a planned one", async () => {
    const table = TableClient.fromConnectionString(
      inject('storageConnection'),
      `dl${randomUUID().slice(0, 8)}`,
      {
        allowInsecureConnection: true,
      },
    );
    const deliveries = new DeliveryLog(table);
    const ref = { day: '2024-03-04', conversationId: 'c1', itemKey: 'k1' };
    expect(await deliveries.claim(ref, 'a@x.com', 'msg-1', 60_000, 3)).toMatchObject({ claim: 'claimed' });
    expect((await deliveries.get(ref, 'a@x.com'))?.attempts).toBe(3);
    await deliveries.planned(ref, 'b@x.com', 'users-api');
    expect(await deliveries.claim(ref, 'b@x.com', 'msg-2', 60_000, 2)).toMatchObject({ claim: 'claimed' });
    expect((await deliveries.get(ref, 'b@x.com'))?.attempts).toBe(2);
  });
});
