/**
 * `npm run bench:export`: throughput and LivePerson calls per conversation of the client and the export,
 * against the local sandbox with a fixed latency per call (default 50 ms), at concurrency 1, 4 and 8.
 *
 *   search   = iterate every conversation in the range (search pages, by-ID refetches, users, CSDS, token)
 *   export   = the full `lp-archive export` path: search + Bulk File Download + conversion + .eml to disk
 *
 * Options: --conversations N (search, default 5000), --export-conversations N (default 500),
 *          --latency MS (default 50), --concurrency 1,4,8
 *
 * The sandbox runs in a child process (`lp-archive sandbox`), so its own CPU work (rendering records) is
 * not charged to the client; on a small shared machine the two still compete for cores.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
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

/** Starts `lp-archive sandbox` in a child process and reads the KEY=VALUE settings it prints. */
async function childSandbox(
  conversations: number,
): Promise<{ env: Record<string, string>; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'lib/cli/main.ts',
      'sandbox',
      '--conversations',
      String(conversations),
      '--seed',
      '5',
      '--latency',
      String(latencyMs),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const env: Record<string, string> = {};
  let buffered = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sandbox exited early (${code})`)));
    child.stdout!.on('data', (chunk: string) => {
      buffered += chunk;
      for (const line of buffered.split('\n')) {
        const m = /^(LP_[A-Z_]+)=(.*)$/.exec(line.trim());
        if (m) env[m[1]!] = m[2]!;
      }
      if (env.LP_CLIENT_SECRET && env.LP_ALLOWED_HOSTS) resolve();
    });
  });
  child.removeAllListeners('exit');
  return { env, child };
}

async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function benchSearch(concurrency: number) {
  const { env, child } = await childSandbox(searchN);
  try {
    const client = createLivePersonClient(
      readLivePersonConfig({ ...env, LP_CONCURRENCY: String(concurrency) }),
    );
    const now = Date.now();
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
    await stopChild(child);
  }
}

async function benchExport(concurrency: number) {
  const { env, child } = await childSandbox(exportN);
  const out = await mkdtemp(join(tmpdir(), 'lp-bench-export-'));
  try {
    const config = readLivePersonConfig({
      ...env,
      LP_CONCURRENCY: String(concurrency),
      LP_FILES_POLL_MS: String(latencyMs),
    });
    const client = createLivePersonClient(config);
    const now = Date.now();
    const t0 = performance.now();
    const summary = await exportConversations(
      client,
      { from: now - 31 * DAY, to: now + DAY, out, concurrency },
      { stdout: quiet, stderr: quiet },
    );
    const secs = (performance.now() - t0) / 1000;
    if (summary.exported + summary.failed !== exportN)
      throw new Error(`exported ${summary.exported} + failed ${summary.failed}, expected ${exportN}`);
    return { n: summary.exported, secs, calls: summary.calls };
  } finally {
    await stopChild(child);
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
