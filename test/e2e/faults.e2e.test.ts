import { createHash } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeArchiveMessage } from '../../lib/discovery/archive-message.js';
import { closedIds, type Pipeline, startPipeline } from './pipeline-harness.js';

async function emlsByConversation(container: ContainerClient): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for await (const b of container.listBlobsFlat()) {
    if (!b.name.endsWith('.eml')) continue;
    const id = b.name.split('/')[3]!;
    out.set(id, [...(out.get(id) ?? []), b.name]);
  }
  return out;
}

describe('faults: LivePerson errors, bad records, poison, late changes, lost status events', () => {
  let p: Pipeline;
  let container: ContainerClient;
  let corruptId: string;
  let changedId: string | undefined;
  let fileGoneId: string | undefined;
  beforeAll(async () => {
    p = await startPipeline({
      connection: inject('storageConnection'),
      sandbox: { conversations: 14, seed: 11, spanDays: 3, faultRate: 0.25 },
    });
    container = BlobServiceClient.fromConnectionString(inject('storageConnection')).getContainerClient(
      p.settings.ARCHIVE_CONTAINER!,
    );
    corruptId = closedIds(p.sandbox)[0]!;
    // Breaks the record for the converter only (discovery reads nothing but info).
    p.sandbox.conversations.corrupt(corruptId, (raw) => {
      raw.messageRecords = 'not a list';
    });
    // A hosted file LivePerson no longer serves: the item is stored, marked partial with the reason.
    fileGoneId = closedIds(p.sandbox).find(
      (id) => id !== corruptId && p.sandbox.conversations.files(id).length > 0,
    );
    if (fileGoneId)
      p.sandbox.conversations.removeFile(fileGoneId, p.sandbox.conversations.files(fileGoneId)[0]!);
    // A message that can never succeed: LivePerson does not know the conversation.
    await p.runtime.storage.queues.getQueueClient(p.settings.ARCHIVE_QUEUE!).createIfNotExists();
    await p.runtime.storage.queues.getQueueClient(p.settings.ARCHIVE_QUEUE!).sendMessage(
      encodeArchiveMessage({
        conversationId: 'no-such-conversation',
        accountId: p.sandbox.accountId,
        startTime: p.sandbox.clock.now() - 3_600_000,
        updateTime: p.sandbox.clock.now() - 3_600_000,
        status: 'CLOSE',
        discoveredAt: new Date(p.sandbox.clock.now()).toISOString(),
      }),
    );
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('under 429/5xx bursts every good conversation is stored exactly once; the bad one and the poison one end failed', async () => {
    await p.discoverAndSettle(240_000);
    const faults = p.sandbox.stats().calls;
    expect(Object.keys(faults).some((k) => k.startsWith('fault.'))).toBe(true);

    const good = closedIds(p.sandbox).filter((id) => id !== corruptId);
    const stored = await emlsByConversation(container);
    expect(new Set(stored.keys())).toEqual(new Set(good));
    for (const names of stored.values()) expect(names).toHaveLength(1);

    const rows = await p.statusRows();
    const failed = rows.filter((r) => r.status === 'failed');
    expect(failed.map((r) => r.conversationId).sort()).toEqual([corruptId, 'no-such-conversation'].sort());
    expect(failed.find((r) => r.conversationId === corruptId)?.reason).toMatch(
      /cannot convert \(field messageRecords/,
    );
    expect(failed.find((r) => r.conversationId === 'no-such-conversation')?.reason).toMatch(
      /failed after 5 attempts; last error: .*not found at LivePerson/,
    );
    expect(
      rows
        .filter((r) => r.status !== 'failed')
        .map((r) => r.conversationId)
        .sort(),
    ).toEqual(good.sort());
  });

  it('a conversation changed after archiving gets a second version beside the first, which is untouched', async () => {
    p.sandbox.setFaults({ faultRate: 0 });
    const id = closedIds(p.sandbox).find((c) => c !== corruptId && c !== fileGoneId)!;
    changedId = id;
    const [oldName] = (await emlsByConversation(container)).get(id)!;
    const oldBytes = await container.getBlobClient(oldName!).downloadToBuffer();
    p.sandbox.conversations.redact(id);
    await p.discoverAndSettle();

    const names = (await emlsByConversation(container)).get(id)!;
    expect(names).toHaveLength(2);
    expect(names).toContain(oldName);
    const again = await container.getBlobClient(oldName!).downloadToBuffer();
    expect(createHash('sha256').update(again).digest('hex')).toBe(
      createHash('sha256').update(oldBytes).digest('hex'),
    );
    const rows = (await p.statusRows()).filter((r) => r.conversationId === id);
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.version)).size).toBe(2);
  });

  it('a status row lost after the blob was written is restored when the item is delivered again', async () => {
    const rows = await p.statusRows();
    const victim = rows.find((r) => r.status !== 'failed' && r.conversationId !== changedId)!;
    const table = TableClient.fromConnectionString(inject('storageConnection'), p.settings.STATUS_TABLE!, {
      allowInsecureConnection: true,
    });
    await table.deleteEntity(victim.partitionKey, victim.rowKey);
    expect((await p.statusRows()).some((r) => r.rowKey === victim.rowKey)).toBe(false);

    // Any later delivery of the conversation (redelivery or the next overlap window) repairs it.
    await p.runtime.storage.queues.getQueueClient(p.settings.ARCHIVE_QUEUE!).sendMessage(
      encodeArchiveMessage({
        conversationId: victim.conversationId,
        accountId: p.sandbox.accountId,
        startTime: Date.parse(victim.conversationStart!),
        updateTime: Date.parse(victim.conversationStart!),
        status: 'CLOSE',
        discoveredAt: new Date(p.sandbox.clock.now()).toISOString(),
      }),
    );
    await p.host.idle({ timeoutMs: 120_000 });
    const restored = (await p.statusRows()).find((r) => r.rowKey === victim.rowKey);
    expect(restored).toMatchObject({
      status: victim.status,
      sha256: victim.sha256,
      blobPath: victim.blobPath,
    });
  });

  it('a malformed message is recorded failed at once (not retried), naming the bad field and the day it failed', async () => {
    const raw = { conversationId: 'malformed-msg', accountId: p.sandbox.accountId, startTime: 'yesterday' };
    await p.runtime.storage.queues
      .getQueueClient(p.settings.ARCHIVE_QUEUE!)
      .sendMessage(Buffer.from(JSON.stringify(raw)).toString('base64'));
    await p.host.idle({ timeoutMs: 120_000 });
    const row = (await p.statusRows()).find((r) => r.conversationId === 'malformed-msg');
    expect(row).toMatchObject({ status: 'failed', partitionKey: new Date().toISOString().slice(0, 10) });
    expect(row?.reason).toMatch(/malformed-msg cannot be read: the message is invalid: startTime/);
    expect(row?.reason).toMatch(/listed under the day it failed/);
  });
});
