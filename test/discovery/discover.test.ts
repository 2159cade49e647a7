import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../dev/sandbox/index.js';
import type { ArchiveMessage } from '../../lib/discovery/archive-message.js';
import { type DiscoveryDeps, discoverConversations } from '../../lib/discovery/discover.js';
import { WatermarkStore } from '../../lib/discovery/watermark-store.js';
import { createLivePersonClient } from '../../lib/liveperson/client.js';
import { readLivePersonConfig } from '../../lib/liveperson/config.js';
import { silentLogger } from '../../lib/log.js';

type Info = { conversationId: string; status: 'OPEN' | 'CLOSE'; startTimeL: number };
const info = (s: Sandbox, id: string) => (s.conversations.get(id) as { info: Info }).info;

describe('discoverConversations against the sandbox', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ conversations: 60, seed: 5, spanDays: 4, faultRate: 0, latencyMs: 0 });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  const deps = (over: Partial<DiscoveryDeps> = {}) => {
    const sent: ArchiveMessage[] = [];
    const lp = createLivePersonClient(
      readLivePersonConfig({
        ...sandbox.env,
        LP_APP_KEY: '',
        LP_APP_SECRET: '',
        LP_ACCESS_TOKEN: '',
        LP_ACCESS_TOKEN_SECRET: '',
      }),
      { now: sandbox.clock.now },
    );
    const d: DiscoveryDeps = {
      accountId: sandbox.accountId,
      lp,
      watermarks: new WatermarkStore(
        TableClient.fromConnectionString(inject('storageConnection'), `dc${randomUUID().slice(0, 8)}`, {
          allowInsecureConnection: true,
        }),
      ),
      enqueue: async (m) => {
        sent.push(m);
      },
      now: sandbox.clock.now,
      logger: silentLogger,
      backfillDays: 30,
      overlapMinutes: 15,
      ...over,
    };
    return { d, sent, lp };
  };

  it('first run backfills every closed conversation with a valid message; open ones wait', async () => {
    const { d, sent } = deps();
    const res = await discoverConversations(d);
    const closed = sandbox.conversations.ids().filter((id) => info(sandbox, id).status === 'CLOSE');
    const open = sandbox.conversations.ids().filter((id) => info(sandbox, id).status === 'OPEN');
    expect(open.length).toBeGreaterThan(0);
    expect(new Set(sent.map((m) => m.conversationId))).toEqual(new Set(closed));
    expect(res.enqueued).toBe(closed.length);
    const m = sent[0]!;
    expect(m).toMatchObject({ accountId: sandbox.accountId, status: 'CLOSE' });
    expect(m.startTime).toBe(info(sandbox, m.conversationId).startTimeL);
    expect(res.watermark).toBeGreaterThan(Date.now() - 86_400_000 * 365);
  });

  it('with ARCHIVE_OPEN_AFTER_HOURS, open conversations older than that are enqueued as interim versions', async () => {
    const now = sandbox.clock.now();
    const open = sandbox.conversations.ids().filter((id) => info(sandbox, id).status === 'OPEN');
    const ages = open.map((id) => (now - info(sandbox, id).startTimeL) / 3_600_000);
    // A threshold between the youngest and oldest open conversation, so both sides are exercised.
    const hours = Math.max(0.01, (Math.min(...ages) + Math.max(...ages)) / 2);
    const { d, sent } = deps({ archiveOpenAfterHours: hours });
    await discoverConversations(d);
    const sentOpen = new Set(sent.filter((m) => m.status === 'OPEN').map((m) => m.conversationId));
    const due = open.filter((id) => (now - info(sandbox, id).startTimeL) / 3_600_000 >= hours);
    expect(due.length).toBeGreaterThan(0);
    for (const id of due) expect(sentOpen.has(id), id).toBe(true);
    for (const id of open.filter((x) => !due.includes(x))) expect(sentOpen.has(id), id).toBe(false);
  });

  it('a run that fails to enqueue does not advance the watermark', async () => {
    const { d } = deps();
    const store = d.watermarks;
    await expect(
      discoverConversations({
        ...d,
        enqueue: async () => {
          throw new Error('queue unavailable');
        },
      }),
    ).rejects.toThrow(/queue unavailable/);
    expect(await store.get(sandbox.accountId)).toBeUndefined();
  });
});

describe('discoverConversations with unreadable search results', () => {
  it('enqueues a record whose id is readable, skips (and counts) one without, and still advances', async () => {
    const records = [
      { info: { conversationId: 'ok-1', startTimeL: 1_700_000_000_000, status: 'CLOSE' } },
      { info: { conversationId: 'no-start', status: 'CLOSE' } },
      { info: { startTimeL: 1_700_000_000_000 } },
    ];
    const sent: ArchiveMessage[] = [];
    const store = new WatermarkStore(
      TableClient.fromConnectionString(inject('storageConnection'), `du${randomUUID().slice(0, 8)}`, {
        allowInsecureConnection: true,
      }),
    );
    const now = 1_800_000_000_000;
    const res = await discoverConversations({
      accountId: 'acct',
      // Stands in for LivePerson only to serve malformed records the sandbox never produces.
      lp: {
        async *searchConversations() {
          yield { records, offset: 0, total: records.length };
        },
      },
      watermarks: store,
      enqueue: async (m) => {
        sent.push(m);
      },
      now: () => now,
      logger: silentLogger,
      backfillDays: 1,
      overlapMinutes: 15,
    });
    expect(sent.map((m) => m.conversationId)).toEqual(['ok-1', 'no-start']);
    expect(res).toMatchObject({ found: 3, enqueued: 2, unreadable: 1 });
    expect((await store.get('acct'))?.value).toBe(now);
  });
});
