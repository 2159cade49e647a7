import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

/** A running Azurite (Blob, Queue, Table) with the connection string the SDKs and the host settings use. */
export interface AzuriteInstance {
  connectionString: string;
  ports: { blob: number; queue: number; table: number };
  /** The Azurite process. */
  pid: number | undefined;
  stop(): Promise<void>;
}

// Azurite's well-known development account: public, documented, not a secret.
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * Starts Azurite, in memory unless `location` names a folder to keep its data in (so a restart continues
 * where it stopped). Port 0 by default, so parallel runs never collide; the real ports are read from
 * Azurite's own "listening at" lines. `--skipApiVersionCheck` because current SDKs send a newer service
 * version than Azurite declares; `--silent` because a console access-log line per request costs Azurite
 * time and nobody reads it.
 */
export async function startAzurite(
  opts: {
    blobPort?: number;
    queuePort?: number;
    tablePort?: number;
    location?: string;
    /**
     * In a process group of its own, so a terminal's Ctrl-C (sent to the whole foreground group) does not
     * stop Azurite before the host has drained its work into it; it is stopped by stop(), or killed when
     * this process exits.
     */
    ownProcessGroup?: boolean;
  } = {},
) {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('azurite/dist/src/azurite.js');
  if (opts.location) mkdirSync(opts.location, { recursive: true });
  // AZURITE_CPU_PROF=<dir>: write a CPU profile of Azurite there when it stops (benchmarks: where its time goes).
  const profile = process.env.AZURITE_CPU_PROF
    ? ['--cpu-prof', '--cpu-prof-dir', process.env.AZURITE_CPU_PROF]
    : [];
  const args = [
    ...profile,
    '--import',
    lokiIndexFirst(entry),
    entry,
    ...(opts.location ? ['--location', opts.location] : ['--inMemoryPersistence']),
    '--silent',
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--loose',
    '--blobHost',
    '127.0.0.1',
    '--queueHost',
    '127.0.0.1',
    '--tableHost',
    '127.0.0.1',
    '--blobPort',
    String(opts.blobPort ?? 0),
    '--queuePort',
    String(opts.queuePort ?? 0),
    '--tablePort',
    String(opts.tablePort ?? 0),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.ownProcessGroup ?? false,
  });
  if (opts.ownProcessGroup) {
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.off('exit', kill));
  }
  const ports = await new Promise<AzuriteInstance['ports']>((resolve, reject) => {
    const found: Partial<Record<'blob' | 'queue' | 'table', number>> = {};
    let output = '';
    const timer = setTimeout(() => fail(new Error(`Azurite did not start within 30 s:\n${output}`)), 30_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of output.matchAll(
        /Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/g,
      )) {
        found[m[1]!.toLowerCase() as 'blob' | 'queue' | 'table'] = Number(m[2]);
      }
      if (found.blob && found.queue && found.table) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(found as AzuriteInstance['ports']);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('exit', (code) => fail(new Error(`Azurite exited with code ${code}:\n${output}`)));
  });
  // Keep draining output so Azurite never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  child.removeAllListeners('exit');
  const host = 'http://127.0.0.1';
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};` +
    `BlobEndpoint=${host}:${ports.blob}/${ACCOUNT};QueueEndpoint=${host}:${ports.queue}/${ACCOUNT};` +
    `TableEndpoint=${host}:${ports.table}/${ACCOUNT};`;
  return { connectionString, ports, pid: child.pid, stop: () => stopChild(child) } satisfies AzuriteInstance;
}

/**
 * A preload for the Azurite process (an ES module as a data: URL, so there is no file to ship): LokiJS,
 * Azurite's in-memory metadata store, answers `{ accountName, containerName, name }` by using the index of
 * the first key only, accountName, which every blob shares, and scanning the rest; so every blob
 * operation costs Azurite time in proportion to the blobs stored (bench:azurite: a HEAD 2.9 ms → 10.9 ms of
 * Azurite CPU once 5,000 blobs are stored). This puts the most selective indexed key of an equality query
 * first (the blob or message name), so the index is used, then restores LokiJS's own result order
 * (insertion order), so Azurite sees the same results, found in log time. A small batch update or remove
 * keeps the indexes current instead of dropping them (LokiJS then re-sorted every document at the next
 * query: a receive of 8 from a queue of 10,000 cost Azurite 96 ms of CPU). And Get Messages picks the first
 * visible messages in one pass instead of sorting the whole queue.
 */
function lokiIndexFirst(azuriteEntry: string): string {
  const source = `
import { createRequire } from 'node:module';
const Loki = createRequire(${JSON.stringify(azuriteEntry)})('lokijs');
const find = Loki.Resultset.prototype.find;
const SELECTIVE = ['name', 'blobName', 'messageId', 'RowKey', 'id', 'containerName', 'queueName', 'table', 'PartitionKey'];
Loki.Resultset.prototype.find = function (query, firstOnly) {
  if (this.filterInitialized || !query || typeof query !== 'object') return find.call(this, query, firstOnly);
  const keys = Object.keys(query);
  if (keys.length < 2 || keys.some((k) => k.startsWith('$'))) return find.call(this, query, firstOnly);
  const best = SELECTIVE.find((k) => typeof query[k] === 'string' && this.collection.binaryIndices[k]);
  if (!best || best === keys[0]) return find.call(this, query, firstOnly);
  const reordered = { [best]: query[best] };
  for (const k of keys) if (k !== best) reordered[k] = query[k];
  find.call(this, reordered, false);
  this.filteredrows.sort((a, b) => a - b);
  if (firstOnly) this.filteredrows = this.filteredrows.slice(0, 1);
  return this;
};
// A batch update or remove (an array, even an empty one: Azurite clears expired messages with one on every
// queue call) makes LokiJS drop its indexes and rebuild them at the next query: a sort of every document.
// A few documents are updated or removed one by one instead, keeping the indexes up to date as it goes.
const { update, remove } = Loki.Collection.prototype;
Loki.Collection.prototype.update = function (doc) {
  if (!Array.isArray(doc) || doc.length > 64) return update.call(this, doc);
  for (const d of doc) update.call(this, d);
};
Loki.Collection.prototype.remove = function (doc) {
  if (!Array.isArray(doc) || doc.length > 64) return remove.call(this, doc);
  for (const d of doc) remove.call(this, d);
};
// Get Messages sorted every visible message of the queue to return the first few: O(n log n) a receive.
// The same messages, picked in one pass (Azurite 3.35's own steps otherwise; skipped if they moved).
try {
  const Store = createRequire(${JSON.stringify(azuriteEntry)})('./queue/persistence/LokiQueueMetadataStore.js').default;
  // Expired messages (7 days by default) are looked for on every queue call, each a pass over the queue:
  // once a second per queue is enough locally.
  const clear = Store?.prototype?.clearExpiredMessages;
  if (typeof clear === 'function') {
    const cleared = new Map();
    Store.prototype.clearExpiredMessages = function (account, queue, context) {
      const key = account + '/' + queue;
      const now = Date.now();
      if (now - (cleared.get(key) ?? 0) < 1000) return this.checkQueueExist(account, queue, context);
      cleared.set(key, now);
      return clear.call(this, account, queue, context);
    };
  }
  if (typeof Store?.prototype?.getMessages === 'function' && typeof Store.prototype.messageCopy === 'function')
    Store.prototype.getMessages = async function (account, queue, timeNextVisible, popReceipt, numOfMessages, queryDate, context) {
      this.checkQueueExist(account, queue, context);
      this.clearExpiredMessages(account, queue, context);
      const coll = this.db.getCollection(this.MESSAGES_COLLECTION);
      const queryTime = queryDate ? queryDate.getTime() : new Date().getTime();
      const n = numOfMessages === undefined || numOfMessages < 1 ? 1 : numOfMessages;
      const visible = coll.chain().find({ accountName: account, queueName: queue, timeNextVisible: { $lte: queryTime } }).data();
      const first = (a, b) => a.timeNextVisible < b.timeNextVisible || (a.timeNextVisible === b.timeNextVisible && a.$loki < b.$loki);
      const docs = [];
      for (const d of visible) {
        if (docs.length === n && !first(d, docs[n - 1])) continue;
        let i = docs.length === n ? n - 1 : docs.length;
        while (i > 0 && first(d, docs[i - 1])) {
          docs[i] = docs[i - 1];
          i--;
        }
        docs[i] = d;
      }
      const visibleTimeInMillisecond = timeNextVisible.getTime();
      for (const doc of docs) {
        doc.timeNextVisible = visibleTimeInMillisecond;
        doc.popReceipt = popReceipt;
        doc.dequeueCount = Number(doc.dequeueCount) + 1;
      }
      coll.update(docs);
      const res = [];
      for (const doc of docs) {
        doc.timeNextVisible = timeNextVisible;
        res.push(this.messageCopy(doc));
        doc.timeNextVisible = visibleTimeInMillisecond;
      }
      return res;
    };
} catch {}`;
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // Azurite takes about 2 s to close its servers after SIGTERM (and saves its data when on disk);
    // SIGKILL if it hangs.
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
