/**
 * `npm run bench:deliver`: archived items per second into 50 mailboxes through the local Graph sandbox
 * with Outlook's per-mailbox limits on, beside the maximum those limits allow; then the peak memory of
 * the delivering process while one item with 60 MB of files is delivered.
 *
 * The limits are Graph's rate (150 MB uploaded per 5 minutes per mailbox, 4 concurrent requests, 10,000
 * requests per 10 minutes) with the windows shortened (default 30 s) so the run sees the steady state,
 * not just the first window's burst; the app's limiter gets the same windows. Items are real converted
 * conversations with one incompressible image each, stored in Azurite as the archive step would.
 *
 * Maximum allowed in T seconds per mailbox = budget × (1 + T / window) bytes (a full window at the start,
 * then the steady rate); summed over the mailboxes and divided by the bytes each delivery uploads.
 *
 * Options: --items N (default 3000), --mailboxes M (50), --item-kb K (image size, 60), --window-s S (30),
 *          --latency MS (Graph sandbox latency per call, 10), --concurrency C (deliveries in flight, 96)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { startAzurite } from '../dev/azurite.js';
import { USERS } from '../dev/sandbox/directory.js';
import { createRuntime } from '../lib/app/runtime.js';
import { itemPaths, toBlobMetadata } from '../lib/archive/blob-layout.js';
import { writeOnce } from '../lib/archive/write-once-blob.js';
import { convertConversation } from '../lib/email/convert.js';
import { silentLogger } from '../lib/log.js';
import { base64Length } from '../lib/mailbox/base64.js';
import { bytesOf, providerFor, recordWithFiles } from '../test/mailbox/support.js';
import { cpuSecondsOf, ownCpuSeconds } from './cpu.js';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '3000' },
    mailboxes: { type: 'string', default: '50' },
    'item-kb': { type: 'string', default: '60' },
    'window-s': { type: 'string', default: '30' },
    latency: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '96' },
    'skip-big': { type: 'boolean', default: false },
  },
});
const N = Number(values.items);
const M = Number(values.mailboxes);
const itemKb = Number(values['item-kb']);
const windowMs = Number(values['window-s']) * 1000;
const latencyMs = Number(values.latency);
const concurrency = Number(values.concurrency);
// Graph's rates, over a shorter window.
const uploadBytes = Math.round((150 * 1024 * 1024 * windowMs) / 300_000);
const requests = Math.max(1, Math.round((10_000 * windowMs) / 600_000));

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
void USERS;

/** Machine-wide CPU time so far; `busyShare(earlier)` is the busy share of all cores since then. */
function machineCpu() {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times.user + c.times.nice + c.times.sys + c.times.irq;
    busy += t;
    total += t + c.times.idle;
  }
  return {
    busy,
    total,
    busyShare(earlier: { busy: number; total: number }) {
      return (busy - earlier.busy) / Math.max(1, total - earlier.total);
    },
  };
}

async function graphChild(opts: unknown) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/graph-sandbox-child.ts', JSON.stringify(opts)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const next = async () => {
    const [line] = (await once(lines, 'line')) as [string];
    return JSON.parse(line);
  };
  const { env } = await next();
  return {
    env: env as Record<string, string>,
    pid: child.pid,
    async ask(cmd: string) {
      child.stdin!.write(`${cmd}\n`);
      return next();
    },
    async stop() {
      child.stdin!.end();
      await once(child, 'exit');
    },
  };
}

async function main() {
  const azurite = await startAzurite();
  const users = Array.from({ length: M }, (_, i) => ({
    userPrincipalName: `agent${String(i + 1).padStart(2, '0')}@brand.example`,
    mail: `agent${String(i + 1).padStart(2, '0')}@brand.example`,
  }));
  const graph = await graphChild({
    seed: 1,
    users,
    keepContent: false,
    faults: { latencyMs },
    limits: {
      concurrentPerMailbox: 4,
      uploadBytesPerWindow: uploadBytes,
      uploadWindowMs: windowMs,
      requestsPerWindow: requests,
      requestWindowMs: windowMs,
    },
  });
  const id = Date.now().toString(36);
  const env = {
    AzureWebJobsStorage: azurite.connectionString,
    LP_ACCOUNT_ID: '12345678',
    LP_APP_KEY: 'k',
    LP_APP_SECRET: 's',
    LP_ACCESS_TOKEN: 't',
    LP_ACCESS_TOKEN_SECRET: 'ts',
    ARCHIVE_CONTAINER: `bench-${id}`,
    STATUS_TABLE: `Bench${id}`,
    MAILBOX_TABLE: `Mbox${id}`,
    ...graph.env,
  };
  const runtime = createRuntime(env, {
    logger: silentLogger,
    graphLimits: {
      uploadBytes,
      uploadWindowMs: windowMs,
      requests,
      requestWindowMs: windowMs,
      concurrency: 4,
    },
  });
  const delivery = runtime.delivery!;
  const container = runtime.storage.blobs.getContainerClient(env.ARCHIVE_CONTAINER);
  await container.createIfNotExists();

  // Items: one per conversation, each with one incompressible image, addressed to a mailbox in turn.
  process.stdout.write(`preparing ${N} items of about ${itemKb} KB for ${M} mailboxes...\n`);
  const prepared: {
    blobName: string;
    messageId: string;
    size: number;
    sha256: string;
    day: string;
    conversationId: string;
    itemKey: string;
    mailbox: string;
  }[] = [];
  const prep = pLimit(8);
  await Promise.all(
    Array.from({ length: N }, (_, i) =>
      prep(async () => {
        const mailbox = users[i % M]!.mail;
        const files = [{ name: `photo-${i}.png`, bytes: bytesOf(itemKb * 1024, i + 1) }];
        const users1 = new Map([['a1', { id: 'a1', email: mailbox, fullName: 'Agent', loginName: 'agent' }]]);
        const r = await convertConversation(recordWithFiles(`bench-${i}`, files, mailbox), {
          files: providerFor(files),
          users: users1,
        });
        const paths = itemPaths(r.conversationId, r.startTime, r.version);
        const w = await writeOnce(container, paths.eml, r.eml, {
          contentType: 'message/rfc822',
          metadata: () => toBlobMetadata(r),
        });
        if (!w.created) throw new Error('item exists');
        prepared.push({
          blobName: paths.eml,
          messageId: r.messageId,
          size: w.size,
          sha256: w.sha256,
          day: r.startTime.toISOString().slice(0, 10),
          conversationId: r.conversationId,
          itemKey: r.version,
          mailbox,
        });
      }),
    ),
  );
  const userIds = new Map<string, string>();
  for (const u of users) userIds.set(u.mail, (await delivery.directory.resolve(u.mail))!.userId);
  for (const u of users) await delivery.folders.folderId(userIds.get(u.mail)!); // folders made up front

  // The delivery queue, emulated: up to `concurrency` deliveries in flight (the host's batches), a message
  // throttled for long comes back after its delay, as the rescheduled copy would.
  const avgUpload = prepared.reduce((s, p) => s + base64Length(p.size), 0) / prepared.length;
  process.stdout.write(
    `delivering: ${M} mailboxes, ${mb(uploadBytes)} per ${windowMs / 1000} s window each (Graph's 150 MB / 5 min), ${requests} requests per window, 4 concurrent, ${latencyMs} ms latency; ${mb(avgUpload)} uploaded per item\n`,
  );
  const limit = pLimit(concurrency);
  const cpuBefore = machineCpu();
  const processCpu = () => ({
    app: ownCpuSeconds(),
    graph: cpuSecondsOf(graph.pid),
    azurite: cpuSecondsOf(azurite.pid),
  });
  const processCpuBefore = processCpu();
  const started = performance.now();
  let delivered = 0;
  let rescheduled = 0;
  let retried = 0;
  const messageFor = (p: (typeof prepared)[number], userId: string) => ({
    day: p.day,
    conversationId: p.conversationId,
    itemKey: p.itemKey,
    blobName: p.blobName,
    messageId: p.messageId,
    size: p.size,
    sha256: p.sha256,
    mailbox: { address: p.mailbox, userId },
    mappedBy: 'automatic',
  });
  /** As the queue would: a throw is retried after the visibility timeout, a reschedule after its delay. */
  const deliverOne = async (
    d: typeof delivery,
    p: (typeof prepared)[number],
    userId: string,
    attempt = 1,
  ): Promise<Awaited<ReturnType<typeof delivery.deliver>>> => {
    let out: Awaited<ReturnType<typeof delivery.deliver>>;
    try {
      out = await limit(() =>
        d.deliver(messageFor(p, userId), attempt, `msg-${p.conversationId}`, silentLogger),
      );
    } catch {
      retried++;
      await new Promise((r) => setTimeout(r, 1000));
      return deliverOne(d, p, userId, attempt + 1);
    }
    if (out.outcome === 'rescheduled') {
      rescheduled++;
      await new Promise((r) => setTimeout(r, out.afterMs));
      return deliverOne(d, p, userId, attempt + 1);
    }
    if (out.outcome !== 'delivered') throw new Error(`unexpected outcome ${out.outcome}`);
    return out;
  };
  const ticker = setInterval(() => {
    const s = (performance.now() - started) / 1000;
    process.stdout.write(`  ${s.toFixed(0)} s: ${delivered} delivered (${(delivered / s).toFixed(1)}/s)\n`);
  }, 10_000);
  await Promise.all(
    prepared.map(async (p) => {
      await deliverOne(delivery, p, userIds.get(p.mailbox)!);
      delivered++;
    }),
  );
  clearInterval(ticker);
  const busy = machineCpu().busyShare(cpuBefore);
  const processCpuAfter = processCpu();
  const cpuPerItem = (k: keyof typeof processCpuAfter) =>
    `${((1000 * (processCpuAfter[k] - processCpuBefore[k])) / Math.max(1, delivered)).toFixed(1)} ms`;
  const seconds = (performance.now() - started) / 1000;
  const maxBytes = M * uploadBytes * (1 + (seconds * 1000) / windowMs);
  const maxItems = maxBytes / avgUpload;
  const maxRate = maxItems / seconds;
  const rate = delivered / seconds;
  const stats = (await graph.ask('stats')).stats;
  const stored = (await graph.ask('count')).count;
  process.stdout.write(
    [
      '',
      `delivered ${delivered} items in ${seconds.toFixed(1)} s: ${rate.toFixed(1)} items/s`,
      `maximum the per-mailbox limits allow over that time: ${maxRate.toFixed(1)} items/s  →  ${(rate / maxRate).toFixed(2)} of the maximum`,
      `mailbox copies in the sandbox: ${stored} (each item exactly once: ${stored === delivered})`,
      `Graph calls: ${JSON.stringify(stats.calls)}; 429 enforced: ${JSON.stringify(stats.enforced)}; rescheduled by the app: ${rescheduled}; attempts that threw and were retried: ${retried}`,
      `peak concurrency seen per mailbox: ${Math.max(...Object.values(stats.maxConcurrency as Record<string, number>))}`,
      `machine CPU busy while delivering: ${(busy * 100).toFixed(0)} % of ${cpus().length} cores (this process, Azurite and the Graph sandbox share them)${busy > 0.9 ? ': CPU-bound here, so the limits were not what held the rate' : ''}`,
      `CPU per item delivered: the app (this process) ${cpuPerItem('app')}, Graph sandbox ${cpuPerItem('graph')}, Azurite ${cpuPerItem('azurite')}`,
      '',
    ].join('\n'),
  );

  await graph.stop();
  if (!values['skip-big']) {
    // Memory while one item with 60 MB of files (three 20 MB files) is delivered (as numbered parts), into
    // a Graph sandbox with Outlook's limits as documented (its 108 MB of base64 fit one 5-minute window).
    const bigGraph = await graphChild({ seed: 2, users, keepContent: false, faults: { latencyMs } });
    const bigRuntime = createRuntime(
      { ...env, ...bigGraph.env, MAILBOX_TABLE: `Mbig${id}` },
      { logger: silentLogger },
    );
    const bigDelivery = bigRuntime.delivery!;
    const bigUser = (await bigDelivery.directory.resolve(users[0]!.mail))!.userId;
    const files = [1, 2, 3].map((k) => ({
      name: `scan-${k}.pdf`,
      bytes: bytesOf(20 * 1024 * 1024, 900 + k),
    }));
    const mailbox = users[0]!.mail;
    const users1 = new Map([['a1', { id: 'a1', email: mailbox, fullName: 'Agent', loginName: 'agent' }]]);
    const r = await convertConversation(recordWithFiles('bench-big', files, mailbox), {
      files: providerFor(files),
      users: users1,
    });
    const paths = itemPaths(r.conversationId, r.startTime, r.version);
    const w = await writeOnce(container, paths.eml, r.eml, {
      contentType: 'message/rfc822',
      metadata: () => toBlobMetadata(r),
    });
    if (!w.created) throw new Error('big item exists');
    files.length = 0; // release the test bytes before measuring
    globalThis.gc?.();
    await new Promise((res) => setTimeout(res, 500));
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const t0 = performance.now();
    const big = {
      blobName: paths.eml,
      messageId: r.messageId,
      size: w.size,
      sha256: w.sha256,
      day: r.startTime.toISOString().slice(0, 10),
      conversationId: r.conversationId,
      itemKey: r.version,
      mailbox,
    };
    const out = await deliverOne(bigDelivery, big, bigUser);
    clearInterval(sampler);
    process.stdout.write(
      `60 MB of files (${mb(w.size)} item, ${out.outcome === 'delivered' ? out.parts : 0} parts) delivered in ${((performance.now() - t0) / 1000).toFixed(1)} s; peak RSS of the delivering process ${mb(peak)} (${mb(peak - before)} above its level before)\n`,
    );
    await bigGraph.stop();
  }
  await azurite.stop();
}

await main();
