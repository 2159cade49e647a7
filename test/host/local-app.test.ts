import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, describe, expect, it } from 'vitest';
import { type LocalApp, startLocalApp } from '../../dev/host/local-app.js';
import { livePersonSandbox } from '../../dev/host/local-services.js';
import { createStorageClients, resolveStorageConnection } from '../../lib/storage/connection.js';
import { loadFunctions } from '../e2e/pipeline-harness.js';
import { memoryLogger } from './helpers.js';

// The real start path (dev/start.ts is this plus signal handling), in a temporary project folder: Azurite
// keeps its data there between starts, as `npm start` does.
const root = path.resolve(import.meta.dirname, '../..');
const projectDir = mkdtempSync(path.join(tmpdir(), 'lp-local-app-'));
for (const f of ['host.json', 'local.settings.json.example', 'infra/eventgrid-subscriptions.json']) {
  mkdirSync(path.dirname(path.join(projectDir, f)), { recursive: true });
  copyFileSync(path.join(root, f), path.join(projectDir, f));
}
const shellEnv = { ...process.env };
afterAll(() => {
  rmSync(projectDir, { recursive: true, force: true });
});

/** One `npm start` (a fresh process environment each time, as a new process would have). */
async function start(argv: string[] = []) {
  for (const k of Object.keys(process.env)) if (!(k in shellEnv)) delete process.env[k];
  Object.assign(process.env, shellEnv, { SANDBOX_CONVERSATIONS: '24', SANDBOX_SEED: '5', PORT: '0' });
  const logger = memoryLogger();
  const app = await startLocalApp({
    projectDir,
    env: process.env,
    argv,
    logger,
    services: [livePersonSandbox],
    loadFunctions: async () => {
      await loadFunctions();
      return [];
    },
    usualAzuritePorts: false,
    progressIntervalMs: 50,
  });
  await settle(app);
  return { app, logger };
}

async function settle(app: LocalApp) {
  await app.host.idle({ timeoutMs: 120_000 });
  await app.mirror.idle();
}

async function stored(app: LocalApp) {
  const c = BlobServiceClient.fromConnectionString(app.azurite.connectionString).getContainerClient(
    app.settings.ARCHIVE_CONTAINER!,
  );
  const names: string[] = [];
  for await (const b of c.listBlobsFlat()) names.push(b.name);
  const table = createStorageClients(resolveStorageConnection(app.settings)).table(
    app.settings.STATUS_TABLE!,
  );
  const rows: string[] = [];
  let open = 0;
  for await (const e of table.listEntities()) {
    if (e.status === 'open') open++;
    else if (e.status) rows.push(`${e.partitionKey}/${e.rowKey}`);
  }
  return { names: names.sort(), rows: rows.sort(), open };
}

const discoveryRuns = (lines: { message: string }[]) =>
  lines
    .filter((l) => l.message.startsWith('discovery run complete '))
    .map((l) => JSON.parse(l.message.slice('discovery run complete '.length)) as Record<string, number>);

const filesUnder = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => path.join(d.parentPath, d.name))
    : [];

describe('npm start (startLocalApp)', () => {
  let first: Awaited<ReturnType<typeof stored>>;

  /** The last `idle:` progress line, a few progress ticks after the host's work has ended. */
  async function lastIdleLine(app: LocalApp, logger: ReturnType<typeof memoryLogger>) {
    await app.host.idle();
    await new Promise((r) => setTimeout(r, 200));
    return logger.lines.filter((l) => l.message.startsWith('idle: ')).at(-1)?.message;
  }

  it('archives the sandbox, copies the items, reports progress and then idle, and listens on loopback only', async () => {
    const { app, logger } = await start();
    try {
      first = await stored(app);
      const emls = first.names.filter((n) => n.endsWith('.eml'));
      expect(emls.length).toBeGreaterThan(5);
      expect(first.rows).toHaveLength(emls.length);
      // The archive copy has every blob, from the BlobCreated events.
      expect(
        filesUnder(path.join(projectDir, 'archive-local', app.settings.ARCHIVE_CONTAINER!)),
      ).toHaveLength(first.names.length);
      const [run] = discoveryRuns(logger.lines);
      // Each conversation still open at LivePerson has one `open` row, so the log accounts for it.
      expect(first.open).toBe(run!.openNotDue);
      const info = logger.lines.filter((l) => l.level === 'info').map((l) => l.message);
      expect(await lastIdleLine(app, logger)).toBe(
        `idle: archived ${emls.length} of ${emls.length + run!.openNotDue!} found (${run!.openNotDue} open, 0 failed); everything found is done`,
      );
      // No line per item from the local tooling (the copy logs at debug).
      expect(info.filter((m) => m.includes('archive copy'))).toEqual([]);

      // Every listening socket of this process and of Azurite is on 127.0.0.1.
      const servers = (process as unknown as { _getActiveHandles(): unknown[] })
        ._getActiveHandles()
        .filter((h): h is net.Server => h instanceof net.Server && h.listening);
      expect(servers.length).toBeGreaterThanOrEqual(4); // host, stream proxy, blob event proxy, sandbox
      for (const s of servers) expect((s.address() as net.AddressInfo).address).toBe('127.0.0.1');
      // And from the system's view (ss, where installed): Azurite's sockets too.
      const listing = (() => {
        try {
          return execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw err;
        }
      })();
      if (listing === undefined) return;
      const ss = listing
        .split('\n')
        .filter((l) => [process.pid, app.azurite.pid].some((pid) => l.includes(`pid=${pid},`)));
      expect(ss.length).toBeGreaterThanOrEqual(servers.length + 3);
      for (const l of ss) expect(l.split(/\s+/)[3]).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      await app.stop();
    }
  });

  it('a restart continues from the watermark: no new archive blob and no new status row', async () => {
    const { app, logger } = await start();
    try {
      const again = await stored(app);
      expect(again.names).toEqual(first.names);
      expect(again.rows).toEqual(first.rows);
      const [run] = discoveryRuns(logger.lines);
      // Searched from the stored watermark (minus the overlap), not the whole backfill again.
      expect(Date.now() - run!.updatedSince!).toBeLessThan(2 * 3_600_000);
      // The conversations still open are still accounted for, from their rows, though this run saw none.
      const emls = first.names.filter((n) => n.endsWith('.eml')).length;
      expect(await lastIdleLine(app, logger)).toBe(
        `idle: archived ${emls} of ${emls + first.open} found (${first.open} open, 0 failed); everything found is done`,
      );
    } finally {
      await app.stop();
    }
  });

  it('--fresh starts from empty: data and archive copy wiped, everything archived again', async () => {
    const copy = path.join(projectDir, 'archive-local');
    const { app, logger } = await start(['--fresh']);
    try {
      expect(logger.lines.some((l) => l.message.startsWith('fresh start: removed'))).toBe(true);
      const fresh = await stored(app);
      // A new anchor: the same conversations (same seed), at new times, all archived again.
      const ids = (names: string[]) => new Set(names.map((n) => n.split('/')[3]));
      expect(ids(fresh.names)).toEqual(ids(first.names));
      expect(fresh.names.filter((n) => first.names.includes(n))).toEqual([]);
      expect(filesUnder(copy)).toHaveLength(fresh.names.length);
      const [run] = discoveryRuns(logger.lines);
      expect(Date.now() - run!.updatedSince!).toBeGreaterThan(29 * 86_400_000); // the whole backfill
    } finally {
      await app.stop();
    }
  });
});
