/**
 * The archive step for groups, on Azurite and the sandbox with the real LivePerson client. A tiny queue
 * loop stands in for the host (retry with the dequeue count, poison after 5 deliveries), so splitting,
 * re-enqueueing and crash recovery run exactly as they would in the app.
 */
import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../dev/sandbox/index.js';
import type { ConvertFn } from '../../lib/archive/archive-conversation.js';
import { archiveGroup, type GroupDeps } from '../../lib/archive/archive-group.js';
import { FailureMemory } from '../../lib/archive/failure-memory.js';
import { recordPoisonedGroup } from '../../lib/archive/record-failures.js';
import { type ArchiveGroup, newGroup, newTraceparent } from '../../lib/discovery/archive-message.js';
import { ConversionError, convertConversation } from '../../lib/email/convert.js';
import { createLivePersonClient } from '../../lib/liveperson/client.js';
import { readLivePersonConfig } from '../../lib/liveperson/config.js';
import type { Logger } from '../../lib/log.js';
import { recordArchivedBlob } from '../../lib/statuslog/record-archived-blob.js';
import { StatusLog } from '../../lib/statuslog/status-log.js';
import type { StatusRow } from '../../lib/statuslog/status-row.js';

const MAX_DELIVERIES = 5;

interface Rig {
  sb: Sandbox;
  lp: ReturnType<typeof createLivePersonClient>;
  container: ContainerClient;
  statusLog: StatusLog;
  failures: FailureMemory;
  warnings: string[];
  /** Commits per blob name: write-once means each name is committed at most once. */
  commits: Map<string, number>;
  deps: GroupDeps;
  queue: Array<{ group: ArchiveGroup; delivery: number }>;
  /** Runs the queue to empty like the host; `before` may swap deps per delivery. */
  drain(before?: (group: ArchiveGroup, delivery: number) => Partial<GroupDeps>): Promise<number>;
  rows(): Promise<StatusRow[]>;
  emls(): Promise<string[]>;
  closed(n: number, filter?: (id: string) => boolean): ArchiveGroup;
  stop(): Promise<void>;
}

const conn = () => inject('storageConnection');

async function rig(sandbox: SandboxOptions, env: Record<string, string> = {}): Promise<Rig> {
  // A frozen clock: records do not change under the test. Bearer only: OAuth1 timestamps are wall-clock.
  const sb = await startSandbox({
    faultRate: 0,
    latencyMs: 0,
    realTime: false,
    fileSizes: { min: 200, max: 2000 },
    ...sandbox,
  });
  const warnings: string[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (m) => void warnings.push(m),
    error: (m) => void warnings.push(m),
  };
  const lp = createLivePersonClient(
    readLivePersonConfig({
      ...sb.env,
      LP_APP_KEY: '',
      LP_APP_SECRET: '',
      LP_ACCESS_TOKEN: '',
      LP_ACCESS_TOKEN_SECRET: '',
      LP_RETRY_BASE_MS: '1',
      LP_RETRY_PAUSES_MS: '1,2',
      LP_MAX_ATTEMPTS: '3',
      LP_FILES_POLL_MS: '1',
      ...env,
    }),
    { now: sb.clock.now, logger },
  );
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const container = BlobServiceClient.fromConnectionString(conn()).getContainerClient(`ag-${id}`);
  await container.create();
  const commits = new Map<string, number>();
  // Counts commits per name, on the real client: the evidence that each item was written once.
  const counted = new Proxy(container, {
    get(target, prop, receiver) {
      if (prop !== 'getBlockBlobClient') return Reflect.get(target, prop, receiver);
      return (name: string) => {
        const blob = target.getBlockBlobClient(name);
        // A successful write creates the blob: a block list committed, or a whole blob put.
        const commit = blob.commitBlockList.bind(blob);
        blob.commitBlockList = async (...args: Parameters<typeof commit>) => {
          const r = await commit(...args);
          commits.set(name, (commits.get(name) ?? 0) + 1);
          return r;
        };
        const upload = blob.upload.bind(blob);
        blob.upload = async (...args: Parameters<typeof upload>) => {
          const r = await upload(...args);
          commits.set(name, (commits.get(name) ?? 0) + 1);
          return r;
        };
        return blob;
      };
    },
  });
  const table = (name: string) =>
    TableClient.fromConnectionString(conn(), name, { allowInsecureConnection: true });
  const statusLog = new StatusLog(table(`Ag${id}`), logger);
  const failures = new FailureMemory(table(`Af${id}`));
  const queue: Rig['queue'] = [];
  const deps: GroupDeps = {
    lp,
    convert: convertConversation as ConvertFn,
    isPermanentFailure: (err): err is ConversionError => err instanceof ConversionError,
    container: counted,
    statusLog,
    failures,
    logger,
    enqueue: async (group) => void queue.push({ group, delivery: 1 }),
    maxAttempts: 5,
    retryDelaySeconds: 0,
    concurrency: 4,
  };
  const r: Rig = {
    sb,
    lp,
    container,
    statusLog,
    failures,
    warnings,
    commits,
    deps,
    queue,
    async drain(before) {
      let deliveries = 0;
      while (queue.length > 0) {
        const m = queue.shift()!;
        deliveries++;
        try {
          await archiveGroup(m.group, m.delivery, { ...deps, ...before?.(m.group, m.delivery) });
        } catch {
          if (m.delivery >= MAX_DELIVERIES)
            await recordPoisonedGroup(m.group, {
              statusLog,
              failures,
              logger,
              queue: 'q-poison',
              now: () => new Date(),
            });
          else queue.push({ group: m.group, delivery: m.delivery + 1 });
        }
      }
      return deliveries;
    },
    async rows() {
      // What the app's blob trigger does for each new .eml (idempotent).
      for (const name of await r.emls()) await recordArchivedBlob(container, name, statusLog, logger);
      const out: StatusRow[] = [];
      for await (const row of statusLog.range('2000-01-01', '2099-12-31')) out.push(row);
      return out;
    },
    async emls() {
      const out: string[] = [];
      for await (const b of container.listBlobsFlat()) if (b.name.endsWith('.eml')) out.push(b.name);
      return out;
    },
    closed(n, filter = () => true) {
      const ids = sb.conversations
        .ids()
        .filter((c) => (sb.conversations.get(c) as { info: { status: string } }).info.status === 'CLOSE')
        .filter(filter)
        .slice(0, n);
      return groupOf(sb, ids);
    },
    async stop() {
      await sb.stop();
    },
  };
  return r;
}

function groupOf(sb: Sandbox, ids: string[]): ArchiveGroup {
  return newGroup(
    sb.accountId,
    new Date(sb.clock.now()).toISOString(),
    ids.map((conversationId) => {
      const info = (sb.conversations.get(conversationId) as { info: { startTimeL: number } }).info;
      return {
        conversationId,
        startTime: info.startTimeL,
        updateTime: info.startTimeL,
        status: 'CLOSE' as const,
        traceparent: newTraceparent(),
      };
    }),
  );
}

/** Every conversation ends as exactly one row; returns them by conversation. */
function oneRowEach(rows: StatusRow[], ids: string[]): Map<string, StatusRow> {
  const by = new Map<string, StatusRow[]>();
  for (const r of rows) by.set(r.conversationId, [...(by.get(r.conversationId) ?? []), r]);
  expect([...by.keys()].sort()).toEqual([...ids].sort());
  for (const [id, list] of by) expect(list, id).toHaveLength(1);
  return new Map([...by].map(([k, v]) => [k, v[0]!]));
}

describe('a group of 100', () => {
  let r: Rig;
  beforeAll(async () => {
    r = await rig({ conversations: 130, seed: 31, spanDays: 3 });
  });
  afterAll(() => r?.stop());

  it('one by-ID call and one Bulk File Download job archive all 100, each once, files attached', async () => {
    const group = r.closed(100);
    expect(group.conversations).toHaveLength(100);
    const withFiles = group.conversations.filter(
      (c) => r.sb.conversations.files(c.conversationId).length > 0,
    );
    expect(withFiles.length).toBeGreaterThan(2);
    r.queue.push({ group, delivery: 1 });
    await r.drain();
    const calls = r.lp.callCounts();
    expect(calls.byId).toBe(1);
    expect(calls['files.create']).toBe(1);
    const zips = Math.ceil(
      withFiles.reduce((n, c) => n + r.sb.conversations.files(c.conversationId).length, 0) / 50,
    );
    expect(calls['files.download']).toBe(zips);
    const emls = await r.emls();
    expect(emls).toHaveLength(100);
    for (const n of r.commits.values()) expect(n).toBe(1);
    // Status rows come from the blob trigger in the app; here the archive step alone: every blob has metadata
    // with the traceparent discovery gave the conversation.
    const one = group.conversations[0]!;
    const blob = emls.find((n) => n.includes(`/${one.conversationId}/`))!;
    const props = await r.container.getBlobClient(blob).getProperties();
    expect(props.metadata?.traceparent).toBe(one.traceparent);
    expect(props.metadata?.partialreasons ?? '').toBe('');
  });

  it('delivered again, it spends no file calls: every complete item is found stored first', async () => {
    const before = r.lp.callCounts();
    r.queue.push({ group: r.closed(100), delivery: 1 });
    await r.drain();
    const after = r.lp.callCounts();
    expect(after.byId).toBe(before.byId! + 1);
    expect(after['files.create']).toBe(before['files.create']);
    expect(await r.emls()).toHaveLength(100);
    for (const n of r.commits.values()) expect(n).toBe(1);
  });
});

describe('splitting and crash recovery', () => {
  let r: Rig;
  beforeAll(async () => {
    r = await rig({ conversations: 130, seed: 32, spanDays: 3 });
  });
  afterAll(() => r?.stop());

  it('a conversation whose processing kills the worker every time is found in a group of 100 and ends as one failed row', async () => {
    const group = r.closed(100);
    const bad = group.conversations[37]!.conversationId;
    const ids = group.conversations.map((c) => c.conversationId);
    r.queue.push({ group, delivery: 1 });
    const deliveries = await r.drain(() => {
      const ctrl = new AbortController();
      const convert: ConvertFn = async (record, opts) => {
        const id = (record as { info: { conversationId: string } }).info.conversationId;
        if (id === bad) {
          ctrl.abort(new Error('worker process died'));
          throw new Error('worker process died');
        }
        return (convertConversation as ConvertFn)(record, opts);
      };
      return { convert, signal: ctrl.signal };
    });
    const rows = oneRowEach(
      await r.rows(),
      ids
        .filter((i) => i !== bad)
        .concat(bad)
        .filter((i) => i === bad || true),
    );
    void rows;
    const emls = await r.emls();
    expect(emls).toHaveLength(99);
    expect(emls.some((n) => n.includes(`/${bad}/`))).toBe(false);
    for (const n of r.commits.values()) expect(n).toBe(1);
    const failed = (await r.rows()).filter((x) => x.status === 'failed');
    expect(failed.map((x) => x.conversationId)).toEqual([bad]);
    expect(failed[0]!.reason).toMatch(/^failed after \d+ attempts; last error: .*worker process died/);
    // Halving 100 down to 1 takes 7 levels; far fewer deliveries than retrying 100 singles.
    expect(deliveries).toBeLessThan(60);
  });

  it('a group whose by-ID request LivePerson refuses is split at once; only the refused conversation fails', async () => {
    const used = new Set((await r.emls()).map((n) => n.split('/')[3]));
    const group = r.closed(16, (id) => !used.has(id));
    expect(group.conversations).toHaveLength(16);
    const bad = group.conversations[11]!.conversationId;
    r.sb.hostile.refuseById(bad);
    r.queue.push({ group, delivery: 1 });
    await r.drain();
    r.sb.hostile.refuseById(bad, false);
    const failed = (await r.rows()).filter((x) => x.status === 'failed' && x.conversationId === bad);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason).toMatch(/by ID .*answered 400/);
    const emls = await r.emls();
    for (const c of group.conversations)
      expect(
        emls.some((n) => n.includes(`/${c.conversationId}/`)),
        c.conversationId,
      ).toBe(c.conversationId !== bad);
  });

  it('a group retried after a crash mid-way writes each item once, and spends file calls only on what is missing', async () => {
    const fresh = await rig({ conversations: 60, seed: 33, spanDays: 3 });
    try {
      const group = fresh.closed(30);
      const k = 12;
      let converted = 0;
      fresh.queue.push({ group, delivery: 1 });
      const stored: string[] = [];
      await fresh.drain((_g, delivery) => {
        if (delivery > 1 || converted > k) return {};
        const ctrl = new AbortController();
        const convert: ConvertFn = async (record, opts) => {
          if (++converted > k) {
            // The process dies between items: nothing after this point runs, nothing is recorded.
            ctrl.abort(new Error('process killed'));
            throw new Error('process killed');
          }
          const c = await (convertConversation as ConvertFn)(record, opts);
          stored.push(c.conversationId);
          return c;
        };
        return { convert, signal: ctrl.signal, concurrency: 1 };
      });
      expect(stored.slice(0, k)).toEqual(group.conversations.slice(0, k).map((c) => c.conversationId));
      // File calls: one job before the crash (if a stored one had files), then one per half that still
      // had an unstored conversation with files: the stored ones were found first and cost nothing.
      const hasFiles = (id: string) => fresh.sb.conversations.files(id).length > 0;
      const ids = group.conversations.map((c) => c.conversationId);
      const before = ids.slice(0, k).some(hasFiles) ? 1 : 0;
      const halves = [ids.slice(0, 15), ids.slice(15)];
      const after = halves.filter((h) =>
        h.some((id) => !ids.slice(0, k).includes(id) && hasFiles(id)),
      ).length;
      expect(fresh.lp.callCounts()['files.create'] ?? 0).toBe(before + after);
      const emls = await fresh.emls();
      expect(emls).toHaveLength(30);
      expect([...fresh.commits.keys()].filter((n) => n.endsWith('.eml'))).toHaveLength(30);
      for (const [name, n] of fresh.commits) expect(n, name).toBe(1);
    } finally {
      await fresh.stop();
    }
  });
});

describe('per-conversation outcomes inside a group', () => {
  let r: Rig;
  beforeAll(async () => {
    r = await rig({ conversations: 80, seed: 34, spanDays: 3 });
  });
  afterAll(() => r?.stop());

  it('files unavailable for now: the others are stored, those with files go on alone and end complete', async () => {
    const group = r.closed(30);
    const withFiles = group.conversations.filter(
      (c) => r.sb.conversations.files(c.conversationId).length > 0,
    );
    expect(withFiles.length).toBeGreaterThan(0);
    // More 503s than the client retries (3 attempts): the group's Bulk File Download fails for now.
    r.sb.hostile.filesOutage(3);
    r.queue.push({ group, delivery: 1 });
    const first = r.queue.shift()!;
    const res = await archiveGroup(first.group, 1, r.deps);
    expect(res).toMatchObject({ stored: 30 - withFiles.length, retried: withFiles.length, failed: 0 });
    expect(r.queue).toHaveLength(1);
    const again = r.queue[0]!.group;
    expect(again.conversations.map((c) => c.conversationId).sort()).toEqual(
      withFiles.map((c) => c.conversationId).sort(),
    );
    for (const c of again.conversations) {
      expect(c.attempts).toBe(1);
      expect(c.lastError).toMatch(/hosted files not available for now: .*503/);
      expect(c.traceparent).toBe(withFiles.find((w) => w.conversationId === c.conversationId)!.traceparent);
    }
    const byIdBefore = r.lp.callCounts().byId!;
    await r.drain();
    expect(r.lp.callCounts().byId).toBe(byIdBefore + 1);
    const emls = await r.emls();
    expect(emls).toHaveLength(30);
    for (const name of emls) {
      const meta = (await r.container.getBlobClient(name).getProperties()).metadata!;
      expect(meta.partialreasons ?? '', name).toBe('');
    }
  });

  it('a conversation LivePerson never returns is retried, then recorded failed after exactly 5 attempts', async () => {
    const group = groupOf(r.sb, [r.closed(1).conversations[0]!.conversationId]);
    group.conversations.push({
      ...group.conversations[0]!,
      conversationId: 'never-there',
      traceparent: newTraceparent(),
    });
    r.queue.push({ group, delivery: 1 });
    await r.drain();
    const row = (await r.rows()).find((x) => x.conversationId === 'never-there')!;
    expect(row).toMatchObject({ status: 'failed', attempts: 5 });
    expect(row.reason).toBe(
      'failed after 5 attempts; last error: Conversation never-there not found at LivePerson by ID',
    );
    expect(row.traceparent).toBe(group.conversations[1]!.traceparent);
  });
});

describe('Bulk File Download strict as documented', () => {
  let r: Rig;
  beforeAll(async () => {
    r = await rig({ conversations: 60, seed: 35, spanDays: 3, bulkListFilter: false });
  });
  afterAll(() => r?.stop());

  it('falls back to one request per conversation after the 400, warns once, stores every item complete', async () => {
    const group = r.closed(30);
    const withFiles = group.conversations.filter(
      (c) => r.sb.conversations.files(c.conversationId).length > 0,
    );
    r.queue.push({ group, delivery: 1 });
    await r.drain();
    expect(r.lp.callCounts()['files.create']).toBe(1 + withFiles.length);
    expect(r.warnings.filter((w) => /refused the list filter/.test(w))).toHaveLength(1);
    const emls = await r.emls();
    expect(emls).toHaveLength(30);
    for (const name of emls)
      expect((await r.container.getBlobClient(name).getProperties()).metadata!.partialreasons ?? '').toBe('');
    // A later group goes straight to single requests: no second 400.
    const group2 = r.closed(30, (id) => !group.conversations.some((c) => c.conversationId === id));
    const withFiles2 = group2.conversations.filter(
      (c) => r.sb.conversations.files(c.conversationId).length > 0,
    );
    r.queue.push({ group: group2, delivery: 1 });
    const before = r.lp.callCounts()['files.create']!;
    await r.drain();
    expect(r.lp.callCounts()['files.create']! - before).toBe(withFiles2.length);
    expect(r.warnings.filter((w) => /refused the list filter/.test(w))).toHaveLength(1);
  });
});
