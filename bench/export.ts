/**
 * `npm run bench:export`: throughput and LivePerson calls per conversation of the client and the export,
 * against the local sandbox with a fixed latency per call (default 50 ms), at concurrency 1, 4 and 8.
 *
 *   search   = iterate every conversation in the range (search pages, by-ID refetches, users, CSDS, token)
 *   export   = the full `lp-archive export` path: search + Bulk File Download + conversion + .eml to disk
 *
 * Options: --conversations N (search, default 5000), --export-conversations N (default 500),
 *          --latency MS (default 50), --concurrency 1,4,8
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { startSandbox } from '../dev/sandbox/index.js';
import { exportConversations } from '../lib/cli/export.js';
import { createLivePersonClient } from '../lib/liveperson/client.js';
import { readLivePersonConfig } from '../lib/liveperson/config.js';

const DAY = 24 * 60 * 60_000;
const FILE_ENDPOINTS = ['files.create', 'files.status', 'files.download'];

const { values } = parseArgs({
  options: {
    conversations: { type: 'string', default: '5000' },
    'export-conversations': { type: 'string', default: '500' },
    latency: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '1,4,8' },
  },
});
const searchN = Number(values.conversations);
const exportN = Number(values['export-conversations']);
const latencyMs = Number(values.latency);
const levels = values.concurrency.split(',').map(Number);

function split(calls: Record<string, number>) {
  let before = 0;
  let files = 0;
  for (const [k, v] of Object.entries(calls)) {
    if (FILE_ENDPOINTS.includes(k)) files += v;
    else before += v;
  }
  return { before, files };
}

const quiet = new Writable({ write: (_c, _e, cb) => cb() });

async function benchSearch(concurrency: number) {
  const sb = await startSandbox({ conversations: searchN, seed: 5, spanDays: 30, latencyMs });
  try {
    const client = createLivePersonClient(
      readLivePersonConfig({ ...sb.env, LP_CONCURRENCY: String(concurrency) }),
    );
    const now = sb.clock.now();
    const t0 = performance.now();
    await client.getUsers();
    let n = 0;
    for await (const page of client.searchConversations({ start: { from: now - 31 * DAY, to: now + DAY } })) {
      n += page.records.length;
    }
    const secs = (performance.now() - t0) / 1000;
    if (n !== searchN) throw new Error(`search returned ${n} conversations, expected ${searchN}`);
    return { n, secs, calls: client.callCounts() };
  } finally {
    await sb.stop();
  }
}

async function benchExport(concurrency: number) {
  const sb = await startSandbox({ conversations: exportN, seed: 5, spanDays: 30, latencyMs });
  const out = await mkdtemp(join(tmpdir(), 'lp-bench-export-'));
  try {
    const config = readLivePersonConfig({
      ...sb.env,
      LP_CONCURRENCY: String(concurrency),
      LP_FILES_POLL_MS: String(latencyMs),
    });
    const client = createLivePersonClient(config);
    const now = sb.clock.now();
    const t0 = performance.now();
    const summary = await exportConversations(
      client,
      { from: now - 31 * DAY, to: now + DAY, out, concurrency },
      { stdout: quiet, stderr: quiet },
    );
    const secs = (performance.now() - t0) / 1000;
    if (summary.exported !== exportN) throw new Error(`exported ${summary.exported}, expected ${exportN}`);
    return { n: summary.exported, secs, calls: summary.calls };
  } finally {
    await sb.stop();
    await rm(out, { recursive: true, force: true });
  }
}

const rows: string[] = [];
const header =
  '| phase  | concurrency | conversations | seconds | conv/s | calls before files / conv | file calls / conv |';
rows.push(header, '|---|---|---|---|---|---|---|');
for (const c of levels) {
  const s = await benchSearch(c);
  const sc = split(s.calls);
  rows.push(
    `| search | ${c} | ${s.n} | ${s.secs.toFixed(2)} | ${(s.n / s.secs).toFixed(0)} | ${(sc.before / s.n).toFixed(4)} | - |`,
  );
  process.stderr.write(`search c=${c}: ${JSON.stringify(s.calls)}\n`);
}
for (const c of levels) {
  const e = await benchExport(c);
  const ec = split(e.calls);
  rows.push(
    `| export | ${c} | ${e.n} | ${e.secs.toFixed(2)} | ${(e.n / e.secs).toFixed(1)} | ${(ec.before / e.n).toFixed(4)} | ${(ec.files / e.n).toFixed(2)} |`,
  );
  process.stderr.write(`export c=${c}: ${JSON.stringify(e.calls)}\n`);
}
process.stdout.write(`\nLivePerson sandbox, ${latencyMs} ms latency per call\n\n${rows.join('\n')}\n`);
