/**
 * bench:pipeline — the whole app end to end through the local host: discovery → archive queue →
 * write-once .json/.eml → BlobCreated (the blob event proxy) → recordStatus (Event Grid) → log download.
 * The LivePerson sandbox runs in its own process and Azurite in its own, so the peak RSS is the host's.
 * Then the storage floor: the app's storage operations alone, on a fresh Azurite.
 * It runs the compiled app (dist/), as `npm start` and Azure do: under tsx the host process would also
 * carry the TypeScript loader (about 75 MB of RSS that no deployment has).
 *
 *   npm run bench:pipeline -- [--conversations 10000] [--azurite memory|disk] [--latency-ms 0]
 *                             [--fault-rate 0] [--span-days 30] [--interval-s 30] [--no-floor]
 * Profile the host process: npm run build && node --cpu-prof --cpu-prof-dir=prof dist/bench/pipeline.js --conversations 1000
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite } from '../dev/azurite.js';
import { startBlobEventProxy } from '../dev/host/blob-events-proxy.js';
import { importFunctionModules } from '../dev/host/function-modules.js';
import { capturedFunctions, installFunctionsCoreCapture } from '../dev/host/functions-core-capture.js';
import { parseHostJson } from '../dev/host/host-config.js';
import { startLocalHost } from '../dev/host/local-host.js';
import { loadEventGridSubscriptions, loadHostJson } from '../dev/host/local-settings.js';
import { createRuntime, setAppRuntime } from '../lib/app/runtime.js';
import { silentLogger } from '../lib/log.js';
import { cpuSecondsOf, ownCpuSeconds } from './cpu.js';
import { measureStorageFloor } from './storage-floor.js';

if (import.meta.url.endsWith('.ts'))
  throw new Error('bench:pipeline measures the compiled app: run it with "npm run bench:pipeline"');
const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const projectDir = path.resolve(here, '../..');
installFunctionsCoreCapture();

const { values } = parseArgs({
  options: {
    conversations: { type: 'string', default: '10000' },
    azurite: { type: 'string', default: 'memory' },
    'latency-ms': { type: 'string', default: '0' },
    'fault-rate': { type: 'string', default: '0' },
    'span-days': { type: 'string', default: '30' },
    'interval-s': { type: 'string', default: '30' },
    'no-floor': { type: 'boolean', default: false },
  },
});
const conversations = Number(values.conversations);
if (!Number.isInteger(conversations) || conversations <= 0)
  throw new Error('--conversations must be a positive integer');
if (values.azurite !== 'memory' && values.azurite !== 'disk')
  throw new Error('--azurite must be memory or disk');
const intervalS = Number(values['interval-s']);
const spanDays = Number(values['span-days']);

// Peak RSS of this process: the local host, the blob event proxy and the app's code (not the sandbox, not Azurite).
let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss()); // rss() alone: memoryUsage() walks the heap
}, 100);

/** RSS and where it is: the JS heap, and memory outside it (Buffers among it). Every interval only. */
function memoryLine(): string {
  const m = process.memoryUsage();
  return `RSS ${mb(m.rss)} (heap ${mb(m.heapUsed)} of ${mb(m.heapTotal)}, external ${mb(m.external)}, buffers ${mb(m.arrayBuffers)})`;
}

/** The sandbox in a child process, with a tiny request/reply protocol (bench/pipeline-sandbox.ts). */
async function startSandboxProcess() {
  const child: ChildProcess = fork(
    new URL('./pipeline-sandbox.js', import.meta.url),
    [
      JSON.stringify({
        conversations,
        seed: 42,
        spanDays,
        latencyMs: Number(values['latency-ms']),
        faultRate: Number(values['fault-rate']),
      }),
    ],
    { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string }) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as T);
      };
      const onExit = (code: number) => reject(new Error(`sandbox process exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next<{ url: string; env: Record<string, string>; closed: number }>('ready');
  const ask = <T>(type: string) => {
    const reply = next<T>(type);
    child.send({ type });
    return reply;
  };
  return {
    ...ready,
    stats: () =>
      ask<{ stats: { calls: Record<string, number>; total: number }; cpuSeconds: number }>('stats'),
    reset: () => ask('reset'),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
      }),
  };
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;

const azuriteDir = values.azurite === 'disk' ? mkdtempSync(path.join(tmpdir(), 'bench-azurite-')) : undefined;
const azuriteOpts = (dir: string | undefined) => (dir ? { location: dir } : {});

const sandbox = await startSandboxProcess();
const azurite = await startAzurite(azuriteOpts(azuriteDir));
const blobEvents = await startBlobEventProxy({ upstream: azurite.connectionString, logger: silentLogger });
const id = randomUUID().replaceAll('-', '').slice(0, 10);
// As the end-to-end harness sets them (test/e2e/pipeline-harness.ts), with the sandbox's settings.
const settings: Record<string, string> = {
  AzureWebJobsStorage: blobEvents.connectionString,
  ArchiveStorage: blobEvents.connectionString,
  ...sandbox.env,
  LP_APP_KEY: '',
  LP_APP_SECRET: '',
  LP_ACCESS_TOKEN: '',
  LP_ACCESS_TOKEN_SECRET: '',
  LP_RETRY_BASE_MS: '5',
  LP_RETRY_PAUSES_MS: '5,10,20',
  LP_FILES_POLL_MS: '5',
  DISCOVERY_SCHEDULE: '0 */5 * * * *',
  BACKFILL_DAYS: '395',
  ARCHIVE_QUEUE: `arc-${id}`,
  ARCHIVE_CONTAINER: `arc-${id}`,
  STATUS_TABLE: `St${id}`,
  WATERMARK_TABLE: `Wm${id}`,
  FAILURE_TABLE: `Fl${id}`,
  DELIVERY_QUEUE: `dlv-${id}`,
  DELIVERY_PLAN_QUEUE: `pln-${id}`,
  MAILBOX_TABLE: `Mb${id}`,
};
const runtime = createRuntime(settings, { logger: silentLogger });
setAppRuntime(process.env, runtime);
await importFunctionModules(path.join(projectDir, 'dist', 'functions'));
// The project's host.json, with the queues polled as often as the end-to-end tests poll them.
const hostJson = loadHostJson(projectDir, {
  queues: { visibilityTimeout: '00:00:00.050', maxPollingInterval: '00:00:00.100' },
});
const eventGridSubscriptions = loadEventGridSubscriptions(projectDir);
if (!eventGridSubscriptions) throw new Error(`no infra/eventgrid-subscriptions.json in ${projectDir}`);
const host = await startLocalHost({
  functions: capturedFunctions(),
  settings,
  hostJson,
  httpPort: 0,
  timers: false,
  logger: silentLogger,
  blobEvents,
  eventGridSubscriptions,
  eventGrid: { retryDelaysMs: [100, 500, 1000] },
});

let sizes = { json: 0, eml: 0 };
let stored = 0;
let interim = 0;
let open = 0;
let pipelineRate = 0;
try {
  await sandbox.reset();
  const cpuAtStart = {
    host: ownCpuSeconds(),
    azurite: cpuSecondsOf(azurite.pid),
    sandbox: (await sandbox.stats()).cpuSeconds,
  };
  const recorded = () => host.invocations().filter((i) => i.functionName === 'recordStatus' && i.ok).length;
  const started = performance.now();
  const intervals: number[] = [];
  let last = 0;
  const progress = setInterval(() => {
    const now = recorded();
    intervals.push((now - last) / intervalS);
    last = now;
    const elapsed = (performance.now() - started) / 1000;
    console.log(
      `  … ${elapsed.toFixed(0)} s: ${now}/${sandbox.closed} items recorded, ${intervals.at(-1)!.toFixed(1)} conv/s in the last ${intervalS} s, ${memoryLine()}`,
    );
  }, intervalS * 1000);
  await host.runTimer('discoverConversations');
  await host.idle({ timeoutMs: 24 * 3_600_000 }).finally(() => clearInterval(progress));
  const seconds = (performance.now() - started) / 1000;
  // The archive run's own peak, before the log download and the bench's own counting below.
  const runPeakRss = Math.max(peakRss, process.memoryUsage.rss());
  const statusLog = runtime.statusLog(silentLogger);
  let failed = 0;
  for await (const r of statusLog.range('2000-01-01', '2099-12-31')) {
    if (r.status === 'archived' || r.status === 'partial') {
      stored++;
      // An interim item of a conversation open longer than ARCHIVE_OPEN_AFTER_HOURS: not among the closed.
      if (r.conversationStatus === 'OPEN') interim++;
    }
    if (r.status === 'failed') failed++;
    if (r.status === 'open') open++;
  }
  const tail = recorded() - last;
  const tailS = seconds - intervals.length * intervalS;

  const to = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.now() - (spanDays + 2) * 86_400_000).toISOString().slice(0, 10);
  const logStart = performance.now();
  const res = await fetch(`${host.httpUrl}/api/log?from=${from}&to=${to}`);
  // Counted as it streams: the bench holding the whole CSV would be charged to the host's peak RSS.
  let logLines = 0;
  for await (const chunk of res.body ?? []) for (const b of chunk as Uint8Array) if (b === 0x0a) logLines++;
  const logSeconds = (performance.now() - logStart) / 1000;

  const { stats: lp, cpuSeconds: sandboxCpu } = await sandbox.stats();
  const cpu = {
    host: ownCpuSeconds() - cpuAtStart.host,
    azurite: cpuSecondsOf(azurite.pid) - cpuAtStart.azurite,
    sandbox: sandboxCpu - cpuAtStart.sandbox,
  };
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  console.log(
    `\nbench:pipeline — ${conversations} conversations generated, ${sandbox.closed} closed (to archive)`,
  );
  console.log(`  Azurite                     ${azuriteDir ? 'on disk (--location)' : 'in memory'}, --silent`);
  console.log(
    `  archived items              ${stored} (${interim} of them interim items of conversations still open), failed ${failed}`,
  );
  // One row per conversation: a conversation that closed after the sandbox counted it is archived, not open.
  console.log(
    `  status log rows             ${stored + failed + open} = ${stored} with an item + ${failed} failed + ${open} still open, of ${conversations} generated`,
  );
  console.log(`  wall time                   ${seconds.toFixed(1)} s`);
  console.log(`  conversations / second      ${(stored / seconds).toFixed(1)} overall`);
  console.log(
    `  per ${intervalS} s                      ${[...intervals, ...(tailS > 1 ? [tail / tailS] : [])].map((r) => r.toFixed(1)).join(', ')}`,
  );
  console.log(
    `  peak RSS (host process)     ${mb(runPeakRss)} while archiving, ${mb(peakRss)} including the log download and this bench's own status count (the sandbox and Azurite run in their own processes)`,
  );
  console.log(
    `  LivePerson calls            ${lp.total} = ${(lp.total / Math.max(1, stored)).toFixed(2)} per conversation (sandbox stats, all endpoints)`,
  );
  console.log(`  by endpoint                 ${JSON.stringify(lp.calls)}`);
  const perItem = (s: number) => `${((1000 * s) / Math.max(1, stored)).toFixed(1)} ms`;
  console.log(
    `  CPU per conversation        host ${perItem(cpu.host)}, Azurite ${perItem(cpu.azurite)}, sandbox ${perItem(cpu.sandbox)} (of ${seconds.toFixed(0)} s wall; Azurite is single-threaded)`,
  );
  console.log(`  blob operations (proxy)     ${JSON.stringify(blobEvents.operations())}`);
  console.log(`  log download                ${logLines - 1} rows in ${logSeconds.toFixed(1)} s`);
  const byFn = new Map<string, number[]>();
  for (const inv of host.invocations())
    byFn.set(inv.functionName, [...(byFn.get(inv.functionName) ?? []), inv.durationMs]);
  for (const [fn, ds] of byFn) {
    const sorted = ds.sort((a, b) => a - b);
    const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(0);
    console.log(`  ${fn.padEnd(27)} ${ds.length} runs, median ${p(0.5)} ms, p95 ${p(0.95)} ms`);
  }
  // Mean item sizes for the floor (read after the timed run).
  const c = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
    settings.ARCHIVE_CONTAINER!,
  );
  const total = { json: [0, 0], eml: [0, 0] };
  for await (const b of c.listBlobsFlat()) {
    const t = b.name.endsWith('.eml') ? total.eml : total.json;
    t[0]! += b.properties.contentLength ?? 0;
    t[1]!++;
  }
  sizes = {
    json: Math.round(total.json[0]! / Math.max(1, total.json[1]!)),
    eml: Math.round(total.eml[0]! / Math.max(1, total.eml[1]!)),
  };
  pipelineRate = stored / seconds;
} finally {
  clearInterval(sampler);
  await host.stop();
  await blobEvents.close();
  await azurite.stop();
  await sandbox.stop();
  if (azuriteDir) rmSync(azuriteDir, { recursive: true, force: true });
}

if (!values['no-floor']) {
  // A fresh Azurite, alone: the same number of items through the app's per-item storage operations.
  const floorDir = azuriteDir ? mkdtempSync(path.join(tmpdir(), 'bench-azurite-')) : undefined;
  const fresh = await startAzurite(azuriteOpts(floorDir));
  try {
    const azuriteCpu = cpuSecondsOf(fresh.pid);
    const q = parseHostJson(hostJson).queues;
    const floor = await measureStorageFloor({
      connectionString: fresh.connectionString,
      items: stored,
      jsonBytes: sizes.json,
      emlBytes: sizes.eml,
      groupSize: runtime.settings.ARCHIVE_GROUP_SIZE,
      groupConcurrency: runtime.settings.ARCHIVE_GROUP_CONCURRENCY,
      concurrency: q.batchSize + q.newBatchThreshold,
      batchSize: q.batchSize,
      enqueueConcurrency: runtime.settings.DISCOVERY_ENQUEUE_CONCURRENCY,
    });
    console.log(
      `  storage floor               ${floor.perSecond.toFixed(1)} conv/s: Azurite alone, ${stored} conversations in groups of ${runtime.settings.ARCHIVE_GROUP_SIZE} through the app's storage operations (${(floor.operations / Math.max(1, stored)).toFixed(1)} per conversation; .json ${sizes.json} B, .eml ${sizes.eml} B) in ${floor.seconds.toFixed(1)} s`,
    );
    console.log(
      `  floor CPU per conversation  Azurite ${((1000 * (cpuSecondsOf(fresh.pid) - azuriteCpu)) / Math.max(1, stored)).toFixed(1)} ms`,
    );
    console.log(`  pipeline / floor            ${(pipelineRate / floor.perSecond).toFixed(2)}`);
  } finally {
    await fresh.stop();
    if (floorDir) rmSync(floorDir, { recursive: true, force: true });
  }
}
// The library's HTTP stream proxy (app.setup enableHttpStream) keeps a server open: end the run explicitly.
process.exit(0);
