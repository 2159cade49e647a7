/**
 * The storage floor for `bench:pipeline`: how fast Azurite itself does the storage operations the app
 * does per conversation, with nothing else running. The pipeline cannot beat this on the same Azurite;
 * its ratio to it says how much of the remaining time is the app and the local host, not the storage.
 *
 * Per conversation, as the app does them (lib/discovery, lib/archive, lib/statuslog):
 *   queue   send (discovery), receive (in batches of host.json batchSize), delete
 *   blob    the group's check that the .eml is not stored yet (HEAD); for the .json and then the .eml
 *           one Put Blob (metadata, If-None-Match: *); then the status recorder's Get Blob Properties
 *   table   failure memory delete (absent: 404), status row upsert, failed-row delete (absent: 404)
 */
import { randomBytes } from 'node:crypto';
import { RestError, TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';

const ignore404 = (err: unknown) => {
  if (!(err instanceof RestError && err.statusCode === 404)) throw err;
};

export async function measureStorageFloor(opts: {
  connectionString: string;
  items: number;
  jsonBytes: number;
  emlBytes: number;
  /** Archive invocations at once (host.json batchSize + newBatchThreshold). */
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
  const failures = TableClient.fromConnectionString(cs, `Floor${id}Failures`, tableOpts);
  await Promise.all([
    container.createIfNotExists(),
    queue.createIfNotExists(),
    status.createTable(),
    failures.createTable(),
  ]);
  const json = randomBytes(opts.jsonBytes);
  const eml = randomBytes(opts.emlBytes);
  let operations = 0;
  const op = <T>(p: Promise<T>) => {
    operations++;
    return p;
  };

  const started = performance.now();
  // Discovery: one message per conversation.
  let next = 0;
  await Promise.all(
    Array.from({ length: opts.enqueueConcurrency }, async () => {
      while (next < opts.items) {
        const n = next++;
        await op(
          queue.sendMessage(Buffer.from(JSON.stringify({ conversationId: `c-${n}` })).toString('base64')),
        );
      }
    }),
  );
  // Archive + status: workers take batches like the queue listener and handle each item.
  let done = 0;
  const write = async (name: string, body: Buffer, metadata: Record<string, string>) => {
    // As writeOnce does for an item of one block, after the group's own check: one conditional Put Blob.
    const blob = container.getBlockBlobClient(name);
    await op(blob.upload(body, body.length, { conditions: { ifNoneMatch: '*' }, metadata }));
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
    await op(container.getBlobClient(`2026/01/01/${conversationId}/v.eml`).exists());
    await write(`2026/01/01/${conversationId}/v.json`, json, metadata);
    await write(`2026/01/01/${conversationId}/v.eml`, eml, metadata);
    await op(failures.deleteEntity(conversationId, 'last')).catch(ignore404);
    await op(container.getBlobClient(`2026/01/01/${conversationId}/v.eml`).getProperties());
    await op(
      status.upsertEntity(
        { partitionKey: '2026-01-01', rowKey: `${conversationId}|v`, ...metadata },
        'Merge',
      ),
    );
    await op(status.deleteEntity('2026-01-01', `${conversationId}|failed`)).catch(ignore404);
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
        const { conversationId } = JSON.parse(Buffer.from(m.messageText, 'base64').toString()) as {
          conversationId: string;
        };
        await item(conversationId);
        await op(queue.deleteMessage(m.messageId, m.popReceipt));
        done++;
      }
    }),
  );
  if (done !== opts.items) throw new Error(`storage floor: ${done} of ${opts.items} items handled`);
  const seconds = (performance.now() - started) / 1000;
  return { seconds, perSecond: opts.items / seconds, operations };
}
