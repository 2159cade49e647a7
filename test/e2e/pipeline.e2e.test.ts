import { BlobServiceClient } from '@azure/storage-blob';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeArchiveMessage } from '../../lib/discovery/archive-message.js';
import { closedIds, logRange, type Pipeline, startPipeline } from './pipeline-harness.js';

describe('end to end: discovery → archive → status log → download', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({
      connection: inject('storageConnection'),
      sandbox: { conversations: 12, seed: 7, spanDays: 3 },
    });
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('archives every closed conversation once, and the CSV has exactly one row per item', async () => {
    await p.discoverAndSettle();
    const closed = closedIds(p.sandbox);
    expect(closed.length).toBeGreaterThan(3);

    const container = BlobServiceClient.fromConnectionString(inject('storageConnection')).getContainerClient(
      p.settings.ARCHIVE_CONTAINER!,
    );
    const emls: string[] = [];
    const jsons: string[] = [];
    for await (const b of container.listBlobsFlat()) (b.name.endsWith('.eml') ? emls : jsons).push(b.name);
    const archivedIds = emls.map((n) => n.split('/')[3]);
    expect(new Set(archivedIds)).toEqual(new Set(closed));
    expect(emls).toHaveLength(closed.length);
    expect(jsons).toHaveLength(closed.length);

    const { from, to } = logRange(p.sandbox);
    const res = await p.get(`/api/log?from=${from}&to=${to}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/csv/);
    const rows = parse((await res.text()).replace(/^\uFEFF/, ''), { columns: true }) as Record<
      string,
      string
    >[];
    // Conversations still open are accounted for too: one `open` row each, so the log holds all LivePerson has.
    const open = p.sandbox.conversations.ids().filter((id) => !closed.includes(id));
    expect(open.length).toBeGreaterThan(0);
    expect(rows).toHaveLength(closed.length + open.length);
    expect(new Set(rows.map((r) => r.conversationId))).toEqual(new Set([...closed, ...open]));
    for (const r of rows) {
      if (open.includes(r.conversationId!)) {
        expect(r).toMatchObject({ status: 'open', blobPath: '', sha256: '' });
        expect(r.reason).toMatch(/still open at LivePerson/);
        continue;
      }
      expect(['archived', 'partial']).toContain(r.status);
      expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(Number(r.size)).toBeGreaterThan(0);
      expect(emls).toContain(r.blobPath?.split('/').slice(1).join('/'));
    }
    const nd = await p.get(`/api/log?from=${from}&to=${to}&format=ndjson&status=archived,partial`);
    expect(nd.headers.get('content-type')).toMatch(/ndjson/);
    const lines = (await nd.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { conversationId: string });
    expect(new Set(lines.map((l) => l.conversationId))).toEqual(new Set(closed));
    // The SHA-256 recorded is the stored .eml's own digest.
    const first = rows.find((r) => r.status !== 'open')!;
    const body = await container
      .getBlobClient(first.blobPath!.split('/').slice(1).join('/'))
      .downloadToBuffer();
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(body).digest('hex')).toBe(first.sha256);
  });

  it('records the last discovery run (window and counts) for the status page', async () => {
    const run = await p.runtime.lastDiscoveryRun();
    expect(run?.error).toBeUndefined();
    expect(run?.found).toBeGreaterThan(3);
    expect(run!.found).toBe(run!.enqueued + run!.open + run!.unreadable);
    expect(Date.parse(run!.from)).toBeLessThan(Date.parse(run!.to));
  });

  it('a second discovery run finds nothing new to store', async () => {
    const before = await p.statusRows();
    p.sandbox.clock.advance(5 * 60_000);
    await p.discoverAndSettle();
    const after = await p.statusRows();
    expect(after.map((r) => r.rowKey).sort()).toEqual(before.map((r) => r.rowKey).sort());
  });

  it('duplicate queue deliveries store nothing twice and are counted as skipped duplicates', async () => {
    const all = await p.statusRows();
    const openRows = all.filter((r) => r.status === 'open').length;
    const before = all.filter((r) => r.status !== 'open');
    const queue = p.runtime.storage.queues.getQueueClient(p.settings.ARCHIVE_QUEUE!);
    for (const row of before) {
      const msg = encodeArchiveMessage({
        conversationId: row.conversationId,
        accountId: p.sandbox.accountId,
        startTime: Date.parse(row.conversationStart!),
        updateTime: Date.parse(row.conversationStart!),
        status: 'CLOSE',
        discoveredAt: new Date().toISOString(),
      });
      await queue.sendMessage(msg);
      await queue.sendMessage(msg);
    }
    await p.host.idle({ timeoutMs: 120_000 });
    const after = (await p.statusRows()).filter((r) => r.status !== 'open');
    expect(after.map((r) => r.rowKey).sort()).toEqual(before.map((r) => r.rowKey).sort());
    for (const r of after)
      expect(
        (r.duplicatesSkipped ?? 0) - (before.find((b) => b.rowKey === r.rowKey)?.duplicatesSkipped ?? 0),
      ).toBe(2);

    const { from, to } = logRange(p.sandbox);
    const res = await p.get(`/api/log/summary?from=${from}&to=${to}&format=json`);
    expect(res.status).toBe(200);
    const days = (await res.json()) as Record<string, number>[];
    const total = (k: string) => days.reduce((s, d) => s + Number(d[k]), 0);
    expect(total('itemsArchived') + total('itemsPartiallyArchived')).toBe(after.length);
    expect(total('itemsSkippedDuplicates')).toBe(after.reduce((s, r) => s + (r.duplicatesSkipped ?? 0), 0));
    expect(total('itemsFailed')).toBe(0);
    // Each item is found once; the redeliveries are duplicates, not finds.
    // Conversations still open are found too, once each.
    expect(total('itemsOpen')).toBe(openRows);
    expect(total('itemsFoundAtSource')).toBe(after.length + openRows);
    for (const d of days)
      expect(d.itemsFoundAtSource).toBe(
        Number(d.itemsArchived) +
          Number(d.itemsPartiallyArchived) +
          Number(d.itemsFailed) +
          Number(d.itemsOpen),
      );
  });

  it('rejects a bad query with 400 naming the parameter', async () => {
    const res = await p.get('/api/log?from=yesterday&to=2024-01-01&format=xml');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string };
    expect(body.error).toMatch(/from:/);
    expect(body.error).toMatch(/format:/);
  });
});
