/**
 * The storage floor for `bench:pipeline`: how fast Azurite itself does the storage operations the app
 * does, with nothing else running. The pipeline cannot beat this on the same Azurite; its ratio to it
 * says how much of the remaining time is the app and the local host, not the storage.
 *
 * As the app does them (lib/discovery, lib/archive, lib/statuslog), with the same concurrency:
 *   queue   per group of ARCHIVE_GROUP_SIZE conversations: send (discovery), receive (in batches of
 *           host.json batchSize, batchSize + newBatchThreshold groups at once), delete
 *   blob    per conversation, ARCHIVE_GROUP_CONCURRENCY at a time within a group: the group's check that
 *           the .eml is not stored yet (HEAD); for the .json and then the .eml one Put Blob (metadata,
 *           If-None-Match: *); then, on the blob event, the status recorder's Get Blob Properties
 *   table   per conversation, on the blob event: status row upsert, then the deletes of its `failed`
 *           and `open` rows (absent: 404)
 * The status recording does not hold up the group, as Event Grid's deliveries do not.
 */
import { randomBytes } from 'node:crypto';
import { RestError, TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import pLimit from 'p-limit';

const ignore404 = (err: unknown) => {
  if (!(err instanceof RestError && err.statusCode === 404)) throw err;
};

export async function measureStorageFloor(opts: {
  connectionString: string;
  items: number;
  jsonBytes: number;
  emlBytes: number;
  /** Conversations per archive queue message (ARCHIVE_GROUP_SIZE). */
  groupSize: number;
  /** Conversations of a group stored at a time (ARCHIVE_GROUP_CONCURRENCY). */
  groupConcurrency: number;
  /** Archive invocations (groups) at once (host.json batchSize + newBatchThreshold). */
  concurrency: number;
  batchSize: number;
  /** Discovery's enqueue concurrency. */
  enqueueConcurrency: number;
}): Promise<{ seconds: number; perSecond: number; operations: number }> {
  const cs = opts.connectionString;
  const id = randomBytes(4).toString('hex');
  const container = BlobServiceClient.fromConnectionString(cs).getContainerClient(`floor-${id}`);
  const queue = QueueServiceClient.fromConnectionString(cs).getQueueClient(`floor-${id}`);
  const tableOpts = { allowInsecureConnection: true };
  const status = TableClient.fromConnectionString(cs, `Floor${id}Status`, tableOpts);
  await Promise.all([container.createIfNotExists(), queue.createIfNotExists(), status.createTable()]);
  const json = randomBytes(opts.jsonBytes);
  const eml = randomBytes(opts.emlBytes);
  let operations = 0;
  const op = <T>(p: Promise<T>) => {
    operations++;
    return p;
  };

  const started = performance.now();
  // Discovery: one message per group.
  const groups = Math.ceil(opts.items / opts.groupSize);
  let next = 0;
  await Promise.all(
    Array.from({ length: opts.enqueueConcurrency }, async () => {
      while (next < groups) {
        const g = next++;
        const ids = Array.from(
          { length: Math.min(opts.groupSize, opts.items - g * opts.groupSize) },
          (_, i) => `c-${g * opts.groupSize + i}`,
        );
        await op(queue.sendMessage(Buffer.from(JSON.stringify({ ids })).toString('base64')));
      }
    }),
  );
  let done = 0;
  const statusRecords: Promise<void>[] = [];
  const write = async (name: string, body: Buffer, metadata: Record<string, string>) => {
    // As writeOnce does for an item of one block, after the group's own check: one conditional Put Blob.
    const blob = container.getBlockBlobClient(name);
    await op(blob.upload(body, body.length, { conditions: { ifNoneMatch: '*' }, metadata }));
  };
  const recordStatus = async (conversationId: string, emlName: string) => {
    const props = await op(container.getBlobClient(emlName).getProperties());
    await op(
      status.upsertEntity(
        { partitionKey: '2026-01-01', rowKey: `${conversationId}|v`, ...props.metadata },
        'Merge',
      ),
    );
    for (const stale of ['failed', 'open'])
      await op(status.deleteEntity('2026-01-01', `${conversationId}|${stale}`)).catch(ignore404);
  };
  const item = async (conversationId: string) => {
    const metadata = {
      conversationid: conversationId,
      accountid: '12345678',
      version: randomBytes(32).toString('hex'),
      starttime: new Date().toISOString(),
      endtime: new Date().toISOString(),
      conversationstatus: 'CLOSE',
      sha256: randomBytes(32).toString('hex'),
      size: String(eml.length),
      messages: '40',
      files: '0',
      filesattached: '0',
      participants: '3',
      partialreasons: '[]',
      addresses: '["a@example.com","b@example.com"]',
    };
    const emlName = `2026/01/01/${conversationId}/v.eml`;
    await op(container.getBlobClient(emlName).exists());
    await write(`2026/01/01/${conversationId}/v.json`, json, metadata);
    await write(emlName, eml, metadata);
    statusRecords.push(recordStatus(conversationId, emlName));
    done++;
  };
  // Received messages not yet taken; one receive (of batchSize) at a time refills it, as the listener does.
  const buffer: { messageId: string; popReceipt: string; messageText: string }[] = [];
  let fetching: Promise<number> | undefined;
  const take = async () => {
    while (!buffer.length) {
      fetching ??= op(queue.receiveMessages({ numberOfMessages: opts.batchSize, visibilityTimeout: 300 }))
        .then((r) => buffer.push(...r.receivedMessageItems))
        .finally(() => {
          fetching = undefined;
        });
      if ((await fetching) === 0 && !buffer.length) return undefined;
    }
    return buffer.shift();
  };
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      for (let m = await take(); m; m = await take()) {
        const { ids } = JSON.parse(Buffer.from(m.messageText, 'base64').toString()) as { ids: string[] };
        const limit = pLimit(Math.max(1, opts.groupConcurrency));
        await Promise.all(ids.map((c) => limit(() => item(c))));
        await op(queue.deleteMessage(m.messageId, m.popReceipt));
      }
    }),
  );
  await Promise.all(statusRecords);
  if (done !== opts.items) throw new Error(`storage floor: ${done} of ${opts.items} items handled`);
  const seconds = (performance.now() - started) / 1000;
  return { seconds, perSecond: opts.items / seconds, operations };
}
