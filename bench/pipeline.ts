/**
 * bench:pipeline — the whole app end to end on Azurite and the LivePerson sandbox, through the local host:
 * discovery → archive queue → write-once .json/.eml → Event Grid-style status recording → log download.
 * Prints conversations per second, peak RSS and LivePerson calls per conversation.
 *
 *   npm run bench:pipeline -- [--conversations 10000] [--latency-ms 0] [--fault-rate 0] [--span-days 30]
 */
import { parseArgs } from 'node:util';
import { startAzurite } from '../dev/azurite.js';
import { installFunctionsCoreCapture } from '../dev/host/functions-core-capture.js';
import { closedIds, logRange, startPipeline } from '../test/e2e/pipeline-harness.js';

installFunctionsCoreCapture();

const { values } = parseArgs({
  options: {
    conversations: { type: 'string', default: '10000' },
    'latency-ms': { type: 'string', default: '0' },
    'fault-rate': { type: 'string', default: '0' },
    'span-days': { type: 'string', default: '30' },
  },
});
const conversations = Number(values.conversations);
if (!Number.isInteger(conversations) || conversations <= 0)
  throw new Error('--conversations must be a positive integer');

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 100);

const azurite = await startAzurite();
const pipeline = await startPipeline({
  connection: azurite.connectionString,
  sandbox: {
    conversations,
    seed: 42,
    spanDays: Number(values['span-days']),
    latencyMs: Number(values['latency-ms']),
    faultRate: Number(values['fault-rate']),
  },
  // Listing a large container for new blobs is the emulation's cost, not the app's: poll it less often.
  blobPollIntervalMs: 1000,
});
try {
  const closed = closedIds(pipeline.sandbox).length;
  pipeline.sandbox.resetStats();
  const started = performance.now();
  // A long run says how it goes: every 30 s, archive and status invocations so far and the recent rate.
  const PROGRESS_EVERY_MS = 30_000;
  let lastArchived = 0;
  const progress = setInterval(() => {
    const runs = (name: string) =>
      pipeline.host.invocations().filter((i) => i.functionName === name && i.ok).length;
    const archived = runs('archiveConversation');
    const elapsed = (performance.now() - started) / 1000;
    console.log(
      `  … ${elapsed.toFixed(0)} s: archiveConversation ${archived}/${closed} (${((archived - lastArchived) / (PROGRESS_EVERY_MS / 1000)).toFixed(1)}/s lately), recordStatus ${runs('recordStatus')}`,
    );
    lastArchived = archived;
  }, PROGRESS_EVERY_MS);
  await pipeline.discoverAndSettle(24 * 3_600_000).finally(() => clearInterval(progress));
  const seconds = (performance.now() - started) / 1000;
  const rows = await pipeline.statusRows();
  const stored = rows.filter((r) => r.status === 'archived' || r.status === 'partial').length;
  const failed = rows.filter((r) => r.status === 'failed').length;

  const { from, to } = logRange(pipeline.sandbox, Number(values['span-days']) + 2);
  const logStart = performance.now();
  const res = await pipeline.get(`/api/log?from=${from}&to=${to}`);
  const csv = await res.text();
  const logSeconds = (performance.now() - logStart) / 1000;

  const lpCalls = pipeline.runtime.lp.callCounts();
  const totalCalls = Object.values(lpCalls).reduce((a, b) => a + b, 0);
  const sandboxStats = pipeline.sandbox.stats();
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
  console.log(`\nbench:pipeline — ${conversations} conversations generated, ${closed} closed (to archive)`);
  console.log(`  archived items              ${stored} (failed ${failed})`);
  console.log(`  wall time                   ${seconds.toFixed(1)} s`);
  console.log(`  conversations / second      ${(stored / seconds).toFixed(1)}`);
  console.log(`  peak RSS (whole process)    ${mb(peakRss)}  (Azurite runs in its own process)`);
  console.log(
    `  LivePerson calls            ${totalCalls} = ${(totalCalls / Math.max(1, stored)).toFixed(2)} per conversation`,
  );
  console.log(`  by endpoint                 ${JSON.stringify(lpCalls)}`);
  console.log(`  sandbox saw                 ${sandboxStats.total} requests`);
  console.log(
    `  log download                ${csv.split('\r\n').length - 2} rows in ${logSeconds.toFixed(1)} s`,
  );
  const byFn = new Map<string, number[]>();
  for (const inv of pipeline.host.invocations())
    byFn.set(inv.functionName, [...(byFn.get(inv.functionName) ?? []), inv.durationMs]);
  for (const [fn, ds] of byFn) {
    const sorted = ds.sort((a, b) => a - b);
    const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(0);
    console.log(`  ${fn.padEnd(27)} ${ds.length} runs, median ${p(0.5)} ms, p95 ${p(0.95)} ms`);
  }
} finally {
  clearInterval(sampler);
  await pipeline.stop();
  await azurite.stop();
}
// The library's HTTP stream proxy (app.setup enableHttpStream) keeps a server open: end the run explicitly.
process.exit(0);
