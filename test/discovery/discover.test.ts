import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../dev/sandbox/index.js';
import {
  type ArchiveGroup,
  ArchiveGroupSchema,
  type ConversationEntry,
  readArchiveMessage,
  TRACEPARENT,
} from '../../lib/discovery/archive-message.js';
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
    const sent: Array<ConversationEntry & { accountId: string }> = [];
    const groups: ArchiveGroup[] = [];
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
      enqueue: async (g) => {
        groups.push(g);
        for (const c of g.conversations) sent.push({ ...c, accountId: g.accountId });
      },
      now: sandbox.clock.now,
      logger: silentLogger,
      backfillDays: 30,
      overlapMinutes: 15,
      ...over,
    };
    return { d, sent, groups, lp };
  };

  it('first run backfills every closed conversation with a valid message; open ones wait', async () => {
    const { d, sent, lp } = deps();
    const res = await discoverConversations(d);
    // Discovery reads info only: small answers, and no record comes cut (no by-ID refetch).
    expect(lp.callCounts().byId ?? 0).toBe(0);
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

  it('enqueues groups of at most ARCHIVE_GROUP_SIZE, each conversation with its own traceparent', async () => {
    const { d, sent, groups } = deps({ groupSize: 7 });
    await discoverConversations(d);
    expect(groups.length).toBe(Math.ceil(sent.length / 7));
    for (const g of groups) {
      expect(ArchiveGroupSchema.parse(g)).toEqual(g);
      expect(g.conversations.length).toBeLessThanOrEqual(7);
    }
    expect(new Set(groups.map((g) => g.messageId)).size).toBe(groups.length);
    for (const c of sent) expect(c.traceparent).toMatch(TRACEPARENT);
    expect(new Set(sent.map((c) => c.traceparent)).size).toBe(sent.length);
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
    const sent: ConversationEntry[] = [];
    const store = new WatermarkStore(
      TableClient.fromConnectionString(inject('storageConnection'), `du${randomUUID().slice(0, 8)}`, {
        allowInsecureConnection: true,
      }),
    );
    const now = 1_800_000_000_000;
    const queries: unknown[] = [];
    const res = await discoverConversations({
      accountId: 'acct',
      // Stands in for LivePerson only to serve malformed records the sandbox never produces.
      lp: {
        async *searchConversations(query) {
          queries.push(query.contentToRetrieve);
          yield { records, offset: 0, total: records.length };
        },
      },
      watermarks: store,
      enqueue: async (g) => {
        sent.push(...g.conversations);
      },
      now: () => now,
      logger: silentLogger,
      backfillDays: 1,
      overlapMinutes: 15,
    });
    expect(sent.map((m) => m.conversationId)).toEqual(['ok-1', 'no-start']);
    expect(res).toMatchObject({ found: 3, enqueued: 2, groups: 1, unreadable: 1 });
    // Discovery reads info only: it asks for one small container, so answers stay small and none comes cut.
    expect(queries).toEqual([['summary']]);
    expect((await store.get('acct'))?.value).toBe(now);
  });

  it('never alters an ID: whitespace variants, . and .., lone surrogates and long IDs travel as given', async () => {
    const ids = [' same-id', 'same-id', 'same-id ', '.', '..', '\ud800', 'x'.repeat(1100), ' ', 'MiXeD'];
    const records = ids.map((conversationId) => ({
      info: { conversationId, startTimeL: 1_700_000_000_000, status: 'CLOSE' },
    }));
    const bodies: string[] = [];
    const res = await discoverConversations({
      accountId: 'acct',
      lp: {
        async *searchConversations() {
          yield { records, offset: 0, total: records.length };
        },
      },
      watermarks: { get: async () => undefined, advance: async (_a, v) => v },
      enqueue: async (g) => {
        const { encodeArchiveGroup } = await import('../../lib/discovery/archive-message.js');
        bodies.push(encodeArchiveGroup(g));
      },
      now: () => 1_800_000_000_000,
      logger: silentLogger,
      backfillDays: 1,
      overlapMinutes: 15,
    });
    expect(res.enqueued).toBe(ids.length);
    // The body is ASCII (safe in the queue's XML) and reads back to exactly the same IDs.
    const back = bodies.flatMap((b) => {
      expect(b).toMatch(/^[\x20-\x7e]*$/);
      const r = readArchiveMessage(b);
      if (!r.ok) throw new Error(r.reason);
      return r.group.conversations.map((c) => c.conversationId);
    });
    expect(back).toEqual(ids);
  });

  it('with recordOpen, searches open conversations too and accounts for each one, never queueing it', async () => {
    const records = [
      { info: { conversationId: 'closed-1', startTimeL: 1_799_000_000_000, status: 'CLOSE' } },
      { info: { conversationId: 'open-1', startTimeL: 1_799_000_100_000, status: 'OPEN' } },
    ];
    const asked: unknown[] = [];
    const groups: ArchiveGroup[] = [];
    const opened: string[] = [];
    const res = await discoverConversations({
      accountId: 'acct',
      lp: {
        async *searchConversations(q) {
          asked.push(q.status);
          yield { records, offset: 0, total: records.length };
        },
      },
      watermarks: { get: async () => undefined, advance: async (_a, v) => v },
      enqueue: async (g) => void groups.push(g),
      recordOpen: async (e) => void opened.push(`${e.conversationId}@${e.startTime}`),
      now: () => 1_800_000_000_000,
      logger: silentLogger,
      backfillDays: 30,
      overlapMinutes: 15,
    });
    expect(asked).toEqual([['OPEN', 'CLOSE']]);
    expect(opened).toEqual(['open-1@1799000100000']);
    expect(groups.flatMap((g) => g.conversations.map((c) => c.conversationId))).toEqual(['closed-1']);
    expect(res).toMatchObject({ found: 2, enqueued: 1, openNotDue: 1 });
  });

  it('keeps each message under the queue size, and accounts for an ID too long to queue at all', async () => {
    const long = (n: number) => `${n}-${'y'.repeat(4000)}`;
    const huge = 'z'.repeat(20_000);
    const records = [...Array.from({ length: 30 }, (_, i) => long(i)), huge].map((conversationId) => ({
      info: { conversationId, startTimeL: 1_700_000_000_000, status: 'CLOSE' },
    }));
    const groups: ArchiveGroup[] = [];
    const refused: string[] = [];
    await discoverConversations({
      accountId: 'acct',
      lp: {
        async *searchConversations() {
          yield { records, offset: 0, total: records.length };
        },
      },
      watermarks: { get: async () => undefined, advance: async (_a, v) => v },
      enqueue: async (g) => void groups.push(g),
      recordUnqueueable: async (e, reason) => {
        refused.push(`${e.conversationId.length}: ${reason}`);
      },
      now: () => 1_800_000_000_000,
      logger: silentLogger,
      backfillDays: 1,
      overlapMinutes: 15,
    });
    const { encodeArchiveGroup, MAX_MESSAGE_CHARS } = await import('../../lib/discovery/archive-message.js');
    expect(groups.length).toBeGreaterThan(1);
    for (const g of groups) expect(encodeArchiveGroup(g).length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
    expect(groups.flatMap((g) => g.conversations).length).toBe(30);
    expect(refused).toEqual([
      '20000: conversation ID of 20000 characters is too long to queue for archiving',
    ]);
  });
});
