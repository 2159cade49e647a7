import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLivePersonClient } from '../../lib/liveperson/client.js';
import { readLivePersonConfig } from '../../lib/liveperson/config.js';
import { MAX_WINDOW_MS, splitWindows } from '../../lib/liveperson/messaging.js';
import { envFor, type FakeServer, record, serveCsds, startFakeServer } from './support/fake-server.js';

const DAY = 24 * 60 * 60_000;
const TEN_MIN = 10 * 60_000;
const SEARCH = /\/conversations\/search$/;
const BY_ID = /\/conversations\/conversation\/search$/;
const T0 = Date.UTC(2025, 0, 1);

let server: FakeServer;
beforeAll(async () => {
  server = await startFakeServer();
});
afterAll(async () => {
  await server.close();
});

/**
 * A msgHist imitation over `records`: rounds `start` outward to 10 minutes (as LivePerson does), rejects
 * windows over 92 days, sorts by start, pages by offset/limit.
 */
function serveMsgHist(records: Array<ReturnType<typeof record>>, opts: { partialPages?: Set<number> } = {}) {
  const windows: Array<{ from: number; to: number }> = [];
  server.route('POST', SEARCH, (req) => {
    const body = JSON.parse(req.body);
    const from = Math.floor(body.start.from / TEN_MIN) * TEN_MIN;
    const to = Math.ceil(body.start.to / TEN_MIN) * TEN_MIN;
    if (to - from > 92 * DAY) return { status: 400, json: { message: 'start window exceeds 3 months' } };
    const offset = Number(req.query.get('offset'));
    const limit = Number(req.query.get('limit'));
    if (offset === 0) windows.push(body.start);
    const hits = records
      .filter((r) => r.info.startTimeL >= from && r.info.startTimeL <= to)
      .sort((a, b) => a.info.startTimeL - b.info.startTimeL);
    const partial = opts.partialPages?.delete(offset) ?? false;
    return {
      json: {
        _metadata: { count: hits.length, shardsStatusResult: { partialResult: partial } },
        conversationHistoryRecords: partial
          ? hits.slice(offset, offset + 3)
          : hits.slice(offset, offset + limit),
      },
    };
  });
  server.route('POST', BY_ID, (req) => {
    const ids: string[] = JSON.parse(req.body).conversationIds;
    if (ids.length > 100) return { status: 400, json: { message: 'too many ids' } };
    return {
      json: {
        _metadata: { count: ids.length },
        conversationHistoryRecords: records
          .filter((r) => ids.includes(r.info.conversationId))
          .map((r) => ({ ...r, info: { ...r.info, isPartial: false }, full: true })),
      },
    };
  });
  return windows;
}

function client(extra: Record<string, string> = {}) {
  return createLivePersonClient(readLivePersonConfig(envFor(server, extra)), { sleep: async () => {} });
}

async function collect(iter: AsyncIterable<{ records: unknown[] }>) {
  const out: Array<ReturnType<typeof record> & { full?: boolean }> = [];
  for await (const page of iter) out.push(...(page.records as typeof out));
  return out;
}

beforeEach(() => {
  server.requests.length = 0;
  serveCsds(server);
});

describe('splitWindows', () => {
  it('covers any range with windows of at most the maximum', () => {
    const ws = splitWindows(T0, T0 + 400 * DAY);
    expect(ws[0]!.from).toBe(T0);
    expect(ws.at(-1)!.to).toBe(T0 + 400 * DAY);
    for (const [i, w] of ws.entries()) {
      expect(w.to - w.from).toBeLessThanOrEqual(MAX_WINDOW_MS);
      if (i > 0) expect(w.from).toBe(ws[i - 1]!.to);
    }
    expect(ws).toHaveLength(Math.ceil(400 / 88));
    expect(splitWindows(5, 5)).toEqual([{ from: 5, to: 5 }]);
    expect(() => splitWindows(10, 5)).toThrow(/Invalid start window/);
  });
});

describe('searchConversations', () => {
  it('splits a 10-month range, pages by 100, dedupes the overlapping window edges, and keeps only the range', async () => {
    const records = [];
    // 730 conversations over ~10 months, several right at window edges (which rounding makes overlap).
    for (let i = 0; i < 700; i++)
      records.push(record(`c${i}`, T0 + 2 * 60_000 + Math.floor((i * 300 * DAY) / 700)));
    for (let k = 1; k <= 3; k++) {
      for (let j = 0; j < 10; j++)
        records.push(record(`edge${k}-${j}`, T0 + k * MAX_WINDOW_MS + (j - 5) * 60_000));
    }
    // Outside the asked range, but inside the 10-minute rounding of the first/last window.
    records.push(record('before', T0 + 60_000), record('after', T0 + 300 * DAY + 5 * 60_000));
    const windows = serveMsgHist(records);
    const from = T0 + 2 * 60_000;
    const got = await collect(
      client().searchConversations({ start: { from, to: T0 + 300 * DAY + 2 * 60_000 } }),
    );
    const ids = got.map((r) => r.info.conversationId);
    expect(windows.length).toBe(4);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(
      records
        .map((r) => r.info.conversationId)
        .filter((id) => id !== 'before' && id !== 'after')
        .sort(),
    );
    // Every window's pages were fetched: at least ceil(count/100) per window.
    expect(server.count(SEARCH)).toBeGreaterThanOrEqual(Math.ceil(730 / 100));
  });

  it('refetches isPartial records by ID in batches of at most 100', async () => {
    const records = [];
    for (let i = 0; i < 250; i++) records.push(record(`p${i}`, T0 + i * 1000, { isPartial: i % 2 === 0 }));
    serveMsgHist(records);
    const got = await collect(client().searchConversations({ start: { from: T0, to: T0 + DAY } }));
    expect(got).toHaveLength(250);
    for (const r of got)
      expect(Boolean(r.full)).toBe(
        r.info.conversationId.slice(1) !== '' && Number(r.info.conversationId.slice(1)) % 2 === 0,
      );
    const bodies = server.requests
      .filter((r) => BY_ID.test(r.path))
      .map((r) => JSON.parse(r.body).conversationIds);
    expect(bodies.flat()).toHaveLength(125);
    expect(Math.max(...bodies.map((b: string[]) => b.length))).toBeLessThanOrEqual(100);
  });

  it('fetches a page flagged partialResult again instead of yielding it', async () => {
    const records = [];
    for (let i = 0; i < 230; i++) records.push(record(`r${i}`, T0 + i * 1000));
    serveMsgHist(records, { partialPages: new Set([0, 100]) });
    const got = await collect(client().searchConversations({ start: { from: T0, to: T0 + DAY } }));
    expect(got.map((r) => r.info.conversationId)).toEqual(records.map((r) => r.info.conversationId));
    expect(server.count(SEARCH)).toBe(3 + 2);
  });

  it('fails clearly when a page stays partial', async () => {
    server.route('POST', SEARCH, () => ({
      json: {
        _metadata: { count: 5, shardsStatusResult: { partialResult: true } },
        conversationHistoryRecords: [],
      },
    }));
    await expect(
      collect(client().searchConversations({ start: { from: T0, to: T0 + DAY } })),
    ).rejects.toThrow(
      'LivePerson msgHist search (offset 0) returned a partial result (some shards failed) 4 times; try again later',
    );
  });

  it('sends status and latestUpdateTime, and the full contentToRetrieve list', async () => {
    serveMsgHist([]);
    await collect(
      client().searchConversations({
        start: { from: T0, to: T0 + DAY },
        status: ['CLOSE'],
        updatedSince: T0 + 5,
      }),
    );
    const body = JSON.parse(server.requests.find((r) => SEARCH.test(r.path))!.body);
    expect(body.status).toEqual(['CLOSE']);
    expect(body.latestUpdateTime).toEqual({ from: T0 + 5 });
    for (const c of [
      'messageRecords',
      'agentParticipants',
      'consumerParticipants',
      'dialogs',
      'sdes',
      'unAuthSdes',
    ])
      expect(body.contentToRetrieve).toContain(c);
  });

  it('names the offset when a page is refused', async () => {
    server.route('POST', SEARCH, (req) =>
      req.query.get('offset') === '200'
        ? { status: 400, json: { message: 'bad' } }
        : {
            json: {
              _metadata: { count: 300 },
              conversationHistoryRecords: [record(`x${req.query.get('offset')}`, T0)],
            },
          },
    );
    await expect(
      collect(client().searchConversations({ start: { from: T0, to: T0 + DAY } })),
    ).rejects.toThrow('LivePerson msgHist search (offset 200) answered 400: {"message":"bad"}');
  });
});

describe('getConversationsById', () => {
  it('batches up to 100 ids and leaves missing ones out', async () => {
    const records = [];
    for (let i = 0; i < 150; i++) records.push(record(`b${i}`, T0));
    serveMsgHist(records);
    const ids = [...records.map((r) => r.info.conversationId), 'missing-1'];
    const map = await client().getConversationsById(ids);
    expect(map.size).toBe(150);
    expect(map.has('missing-1')).toBe(false);
    expect(server.count(BY_ID)).toBe(2);
  });
});

describe('users cache', () => {
  it('serves from cache until the refresh interval passes', async () => {
    let clock = 0;
    let revision = 0;
    server.route('GET', /\/le-users\/users$/, (req) => {
      expect(req.query.get('include_deleted')).toBe('true');
      expect(req.query.get('v')).toBe('6.0');
      revision++;
      return { json: [{ id: 1, fullName: `rev ${revision}`, deleted: 'true' }] };
    });
    const c = createLivePersonClient(
      readLivePersonConfig(envFor(server, { LP_USERS_REFRESH_MINUTES: '5' })),
      {
        now: () => clock,
      },
    );
    expect((await c.getUsers()).get('1')?.fullName).toBe('rev 1');
    clock += 4 * 60_000;
    expect((await c.getUsers()).get('1')?.fullName).toBe('rev 1');
    clock += 2 * 60_000;
    const dir = await c.getUsers();
    expect(dir.get('1')?.fullName).toBe('rev 2');
    expect(dir.get('1')?.deleted).toBe(true);
    expect(c.callCounts().users).toBe(2);
  });
});
