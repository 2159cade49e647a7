/**
 * bench:azurite — what each storage operation the app makes per conversation costs Azurite itself (CPU
 * time of the Azurite process, per operation), on an empty store and again once it holds many items, in
 * memory and on disk. Says whether Azurite is the limit of bench:pipeline and whether it slows as it grows.
 *
 *   npx tsx bench/azurite-ops.ts [--ops 1000] [--fill 20000] [--azurite memory|disk] [--eml-bytes 221000]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { RestError, TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { startAzurite } from '../dev/azurite.js';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '1000' },
    fill: { type: 'string', default: '20000' },
    azurite: { type: 'string', default: 'memory' },
    'eml-bytes': { type: 'string', default: '221000' },
    'json-bytes': { type: 'string', default: '23000' },
    concurrency: { type: 'string', default: '12' },
  },
});
const N = Number(values.ops);
const FILL = Number(values.fill);
const CONCURRENCY = Number(values.concurrency);

function cpuSecondsOf(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const dir = values.azurite === 'disk' ? mkdtempSync(path.join(tmpdir(), 'bench-azurite-ops-')) : undefined;
const azurite = await startAzurite(dir ? { location: dir } : {});
const cs = azurite.connectionString;
const container = BlobServiceClient.fromConnectionString(cs).getContainerClient('ops');
const queue = QueueServiceClient.fromConnectionString(cs).getQueueClient('ops');
const table = TableClient.fromConnectionString(cs, 'Ops', { allowInsecureConnection: true });
await Promise.all([container.createIfNotExists(), queue.createIfNotExists(), table.createTable()]);
const eml = randomBytes(Number(values['eml-bytes']));
const json = randomBytes(Number(values['json-bytes']));
const metadata = {
  conversationid: 'x',
  version: randomBytes(32).toString('hex'),
  sha256: randomBytes(32).toString('hex'),
  starttime: new Date().toISOString(),
  size: String(eml.length),
  partialreasons: '[]',
  addresses: '["a@example.com"]',
};
const ignore404 = (err: unknown) => {
  if (!(err instanceof RestError && err.statusCode === 404)) throw err;
};

async function pool(n: number, fn: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

let round = 0;
async function measure(label: string, n: number, fn: (i: number) => Promise<unknown>) {
  const cpu = cpuSecondsOf(azurite.pid);
  const t = performance.now();
  await pool(n, fn);
  const ms = performance.now() - t;
  const cpuMs = (1000 * (cpuSecondsOf(azurite.pid) - cpu)) / n;
  console.log(
    `  ${label.padEnd(36)} ${cpuMs.toFixed(2).padStart(6)} ms Azurite CPU, ${(ms / n).toFixed(2).padStart(6)} ms wall / op`,
  );
  return cpuMs;
}

async function opsRound(tag: string) {
  const r = round++;
  const name = (i: number, ext: string) => `2026/01/01/r${r}-${i}/v.${ext}`;
  const block = Buffer.from('000000').toString('base64');
  console.log(`${tag}`);
  let total = 0;
  total += await measure('HEAD absent blob (exists)', 2 * N, (i) =>
    container.getBlobClient(name(i, 'x')).exists(),
  );
  total += await measure(`Put Block .json (${json.length} B)`, N, (i) =>
    container.getBlockBlobClient(name(i, 'json')).stageBlock(block, json, json.length),
  );
  total += await measure('Put Block List .json (metadata)', N, (i) =>
    container
      .getBlockBlobClient(name(i, 'json'))
      .commitBlockList([block], { conditions: { ifNoneMatch: '*' }, metadata }),
  );
  total += await measure(`Put Block .eml (${eml.length} B)`, N, (i) =>
    container.getBlockBlobClient(name(i, 'eml')).stageBlock(block, eml, eml.length),
  );
  total += await measure('Put Block List .eml (metadata)', N, (i) =>
    container
      .getBlockBlobClient(name(i, 'eml'))
      .commitBlockList([block], { conditions: { ifNoneMatch: '*' }, metadata }),
  );
  total += await measure('HEAD existing blob (properties)', N, (i) =>
    container.getBlobClient(name(i, 'eml')).getProperties(),
  );
  total += await measure('table upsert (status row)', N, (i) =>
    table.upsertEntity({ partitionKey: '2026-01-01', rowKey: `r${r}-${i}|v`, ...metadata }, 'Merge'),
  );
  total +=
    2 *
    (await measure('table delete absent (404) ×2', N, (i) =>
      table.deleteEntity('2026-01-01', `r${r}-${i}|failed`).catch(ignore404),
    ));
  total += await measure('queue send', N, (i) =>
    queue.sendMessage(Buffer.from(`{"i":${i}}`).toString('base64')),
  );
  const got: { messageId: string; popReceipt: string }[] = [];
  total +=
    (await measure('queue receive (batch of 8) /8', Math.ceil(N / 8), async () =>
      got.push(
        ...(
          await queue.receiveMessages({ numberOfMessages: 8, visibilityTimeout: 300 })
        ).receivedMessageItems,
      ),
    )) / 8;
  total += await measure('queue delete', got.length, (i) =>
    queue.deleteMessage(got[i]!.messageId, got[i]!.popReceipt),
  );
  console.log(`  ${'per conversation (sum)'.padEnd(36)} ${total.toFixed(1).padStart(6)} ms Azurite CPU`);
}

console.log(
  `bench:azurite — Azurite ${dir ? 'on disk' : 'in memory'}, ${N} of each operation, concurrency ${CONCURRENCY}`,
);
await opsRound('empty store');
if (FILL > 0) {
  const t = performance.now();
  const small = Buffer.from('x');
  await pool(FILL, async (i) => {
    await container.getBlockBlobClient(`fill/${i}.eml`).upload(small, 1, { metadata });
    await table.upsertEntity({
      partitionKey: `2025-${String((i % 12) + 1).padStart(2, '0')}-01`,
      rowKey: `f${i}`,
      ...metadata,
    });
  });
  console.log(
    `(filled with ${FILL} blobs and ${FILL} table rows in ${((performance.now() - t) / 1000).toFixed(0)} s)`,
  );
  await opsRound(`with ${FILL} more blobs and rows`);
}
await azurite.stop();
if (dir) rmSync(dir, { recursive: true, force: true });
