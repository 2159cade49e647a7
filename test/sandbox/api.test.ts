import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../dev/sandbox/index.js';
import { roundDown, roundUp, SEARCH_MESSAGE_CAP } from '../../dev/sandbox/search.js';
import { bearer, byIdUrl, DAY, post, type Raw, search, searchAll, searchUrl, T0 } from './helpers.js';

let sb: Sandbox;
let auth: string;
beforeAll(async () => {
  sb = await startSandbox({ conversations: 150, seed: 7, now: T0, spanDays: 30 });
  auth = await bearer(sb);
});
afterAll(() => sb.stop());

const window = () => ({ start: { from: T0 - 31 * DAY, to: T0 + DAY } });

describe('CSDS', () => {
  it('lists every service and answers one service by name, pointing at the sandbox as a bare host:port', async () => {
    const all = (await (
      await fetch(`${sb.url}/api/account/${sb.accountId}/service/baseURI.json?version=1.0`)
    ).json()) as { baseURIs: Array<{ service: string; account: string; baseURI: string }> };
    const names = all.baseURIs.map((b) => b.service);
    for (const name of [
      'msgHist',
      'accountConfigReadOnly',
      'sentinel',
      'fms',
      'engHistDomain',
      'agentVep',
      'swift',
    ]) {
      expect(names).toContain(name);
    }
    const host = new URL(sb.url).host;
    expect(new Set(all.baseURIs.map((b) => b.baseURI))).toEqual(new Set([host]));
    const one = await (
      await fetch(`${sb.url}/api/account/${sb.accountId}/service/msgHist/baseURI.json?version=1.0`)
    ).json();
    expect(one).toEqual({ service: 'msgHist', account: sb.accountId, baseURI: host });
  });

  it('404s an unknown (or wrongly cased) service and a wrong account', async () => {
    expect(
      (await fetch(`${sb.url}/api/account/${sb.accountId}/service/msghist/baseURI.json?version=1.0`)).status,
    ).toBe(404);
    expect((await fetch(`${sb.url}/api/account/999/service/msgHist/baseURI.json?version=1.0`)).status).toBe(
      404,
    );
  });
});

describe('Sentinel bearer tokens', () => {
  it('refuses wrong client credentials with 401', async () => {
    const res = await fetch(`${sb.url}/sentinel/api/v2/account/${sb.accountId}/app/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'client_id=sandbox-client-id&client_secret=nope&grant_type=client_credentials',
    });
    expect(res.status).toBe(401);
  });

  it('refuses a forged token (payload changed, signature kept) and an expired one', async () => {
    const token = (await bearer(sb)).slice('Bearer '.length);
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 999_999 })).toString(
      'base64url',
    );
    expect(
      (await post(searchUrl(sb, 'source=t'), `Bearer ${h}.${forgedPayload}.${s}`, window())).status,
    ).toBe(401);

    const short = await startSandbox({ conversations: 3, seed: 7, now: T0, tokenTtlSeconds: 60 });
    try {
      const shortAuth = await bearer(short);
      expect((await post(searchUrl(short, 'source=t'), shortAuth, window())).status).toBe(200);
      short.clock.advance(61_000);
      const expired = await post(searchUrl(short, 'source=t'), shortAuth, window());
      expect(expired.status).toBe(401);
      expect(((await expired.json()) as { message: string }).message).toMatch(/expired/);
    } finally {
      await short.stop();
    }
  });
});

describe('Messaging Interactions search rules', () => {
  it('requires source, caps limit at 100 and the start window at 3 months', async () => {
    expect((await post(searchUrl(sb, 'limit=10'), auth, window())).status).toBe(400);
    expect((await post(searchUrl(sb, 'source=t&limit=101'), auth, window())).status).toBe(400);
    expect((await post(searchUrl(sb, 'source=t&limit=100'), auth, window())).status).toBe(200);
    const tooLong = { start: { from: T0 - 100 * DAY, to: T0 } };
    const res = await post(searchUrl(sb, 'source=t'), auth, tooLong);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/3 months/);
    expect((await post(searchUrl(sb, 'source=t'), auth, {})).status).toBe(400);
    expect(
      (await post(searchUrl(sb, 'source=t'), auth, { start: { from: T0 - 80 * DAY, to: T0 } })).status,
    ).toBe(200);
  });

  it('defaults to limit 50 and start:asc with ties broken by conversationId', async () => {
    const page = await search(sb, auth, window(), 'source=t');
    expect(page.conversationHistoryRecords).toHaveLength(50);
    expect(page._metadata.count).toBe(150);
    const keys = page.conversationHistoryRecords.map((r) => [r.info.startTimeL, r.info.conversationId]);
    const sorted = [...keys].sort(
      (a, b) => (a[0] as number) - (b[0] as number) || String(a[1]).localeCompare(String(b[1])),
    );
    expect(keys).toEqual(sorted);
  });

  it('pages with offset/limit and next links: every record exactly once', async () => {
    const records = await searchAll(sb, auth, window(), 'source=t&limit=40');
    const ids = records.map((r) => r.info.conversationId as string);
    expect(ids).toHaveLength(150);
    expect(new Set(ids)).toEqual(new Set(sb.conversations.ids()));
    const desc = await searchAll(sb, auth, window(), 'source=t&limit=33&sort=start:desc');
    expect(desc.map((r) => r.info.conversationId)).toEqual([...ids].reverse());
    const last = await search(sb, auth, window(), 'source=t&limit=40&offset=120');
    expect(last._metadata.next).toBeUndefined();
    expect(last.conversationHistoryRecords).toHaveLength(30);
  });

  it('sorts by end and rounds the start window to 10 minutes (from down, to up)', async () => {
    const byEnd = await searchAll(sb, auth, { ...window(), status: ['CLOSE'] }, 'source=t&sort=end:asc');
    const ends = byEnd.map((r) => r.info.endTimeL as number);
    expect(ends).toEqual([...ends].sort((a, b) => a - b));

    const all = await searchAll(sb, auth, window());
    const target = all[70]!.info.startTimeL as number;
    // A window strictly inside one 10-minute slot still finds the conversation after rounding.
    const inner = { start: { from: target + 1, to: target + 2 } };
    expect(roundDown(target + 1)).toBeLessThanOrEqual(target);
    const found = await searchAll(sb, auth, inner);
    expect(found.map((r) => r.info.conversationId)).toContain(all[70]!.info.conversationId);
    const expected = all.filter(
      (r) => r.info.startTimeL >= roundDown(target + 1) && r.info.startTimeL <= roundUp(target + 2),
    );
    expect(found).toHaveLength(expected.length);
  });

  it('filters by status', async () => {
    const all = await searchAll(sb, auth, window());
    const open = await searchAll(sb, auth, { ...window(), status: ['OPEN'] });
    const closed = await searchAll(sb, auth, { ...window(), status: ['CLOSE'] });
    expect(open.length + closed.length).toBe(all.length);
    expect(open.length).toBeGreaterThan(0);
    expect(open.every((r) => r.info.status === 'OPEN' && r.info.endTimeL === -1)).toBe(true);
    expect(closed.every((r) => r.info.status === 'CLOSE' && r.info.endTimeL > 0)).toBe(true);
  });

  it('contentToRetrieve is all-or-nothing; search shows only the last SDE and no previews', async () => {
    const defaults = (await search(sb, auth, window())).conversationHistoryRecords[0]!;
    for (const c of [
      'messageRecords',
      'agentParticipants',
      'consumerParticipants',
      'transfers',
      'summary',
      'sdes',
    ]) {
      if (c !== 'summary') expect(defaults).toHaveProperty(c);
    }
    expect(defaults).not.toHaveProperty('dialogs');
    expect(defaults).not.toHaveProperty('monitoring');
    const only = (await search(sb, auth, { ...window(), contentToRetrieve: ['dialogs', 'monitoring'] }))
      .conversationHistoryRecords[0]!;
    expect(Object.keys(only).sort()).toEqual(['dialogs', 'info', 'monitoring']);
    expect(
      (await post(searchUrl(sb, 'source=t'), auth, { ...window(), contentToRetrieve: ['bogus'] })).status,
    ).toBe(400);

    const all = await searchAll(sb, auth, window());
    const withTwoSdes = sb.conversations
      .ids()
      .find(
        (id) => ((sb.conversations.get(id) as { sdes: { events: unknown[] } }).sdes.events.length ?? 0) > 1,
      );
    expect(withTwoSdes).toBeDefined();
    const fromSearch = all.find((r) => r.info.conversationId === withTwoSdes)!;
    expect(fromSearch.sdes.events).toHaveLength(1);
    const files = all.flatMap((r) => r.messageRecords).filter((m) => m.type === 'HOSTED_FILE');
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((m) => m.messageData.file.preview === undefined)).toBe(true);
  });
});

describe('Messaging Interactions search: more filters', () => {
  it('filters by end time (closed conversations only) and refuses an unknown v or sort', async () => {
    const closed = await searchAll(sb, auth, { ...window(), status: ['CLOSE'] }, 'source=t&sort=end:asc');
    const mid = closed[Math.floor(closed.length / 2)]!.info.endTimeL as number;
    const byEnd = await searchAll(sb, auth, { ...window(), end: { from: mid, to: T0 + DAY } });
    const expected = closed.filter((r) => (r.info.endTimeL as number) >= roundDown(mid));
    expect(byEnd.map((r) => r.info.conversationId).sort()).toEqual(
      expected.map((r) => r.info.conversationId).sort(),
    );
    expect((await post(searchUrl(sb, 'source=t&v=3'), auth, window())).status).toBe(400);
    expect((await post(searchUrl(sb, 'source=t&sort=duration:asc'), auth, window())).status).toBe(400);
  });

  it('marks very long conversations isPartial in search and cuts their messages; by-ID has them whole', async () => {
    const all = await searchAll(sb, auth, window());
    const partial = all.filter((r) => r.info.isPartial === true);
    expect(partial.length).toBeGreaterThan(0);
    const id = partial[0]!.info.conversationId as string;
    expect(partial[0]!.messageRecords).toHaveLength(SEARCH_MESSAGE_CAP);
    const full = ((await (await post(byIdUrl(sb), auth, { conversationId: id })).json()) as Raw)
      .conversationHistoryRecords[0];
    expect(full.info.isPartial).toBe(false);
    expect(full.messageRecords.length).toBeGreaterThan(SEARCH_MESSAGE_CAP);
    expect(
      all
        .filter((r) => r.info.isPartial !== true)
        .every((r) => r.messageRecords.length <= SEARCH_MESSAGE_CAP),
    ).toBe(true);
  });
});

describe('Conversations by ID', () => {
  it('returns one record with all SDEs and previews', async () => {
    const id = sb.conversations.ids().find(
      (i) =>
        sb.conversations.files(i).some((p) => /\.(PNG|JPG|GIF)$/.test(p)) &&
        // closed, so the record cannot change between the two reads (an open one's duration grows)
        (sb.conversations.get(i) as { info: { fullDialogStatus: string } }).info.fullDialogStatus === 'CLOSE',
    )!;
    const res = await post(byIdUrl(sb), auth, {
      conversationId: id,
      contentToRetrieve: ['messageRecords', 'sdes'],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { conversationHistoryRecords: Raw[] };
    expect(body.conversationHistoryRecords).toHaveLength(1);
    const rec = body.conversationHistoryRecords[0];
    expect(rec.info.conversationId).toBe(id);
    const image = rec.messageRecords.find(
      (m: Raw) => m.type === 'HOSTED_FILE' && /\.(PNG|JPG|GIF)$/.test(m.messageData.file.relativePath),
    );
    expect(image.messageData.file.preview).toMatch(/^data:image\/png;base64,/);
    expect(rec).toEqual(
      JSON.parse(JSON.stringify(pick(sb.conversations.get(id), ['info', 'messageRecords', 'sdes']))),
    );
  });

  it('batches up to 100 ids, drops unknown ones, refuses 101 ids or both fields', async () => {
    const ids = sb.conversations.ids().slice(0, 100);
    const res = await post(byIdUrl(sb), auth, { conversationIds: [...ids.slice(0, 99), 'no-such-id'] });
    const body = (await res.json()) as { conversationHistoryRecords: Raw[] };
    expect(body.conversationHistoryRecords.map((r) => r.info.conversationId).sort()).toEqual(
      ids.slice(0, 99).sort(),
    );
    const tooMany = [...ids, sb.conversations.ids()[100]];
    expect((await post(byIdUrl(sb), auth, { conversationIds: tooMany })).status).toBe(400);
    expect(
      (await post(byIdUrl(sb), auth, { conversationId: ids[0], conversationIds: [ids[1]] })).status,
    ).toBe(400);
    expect((await post(byIdUrl(sb, ''), auth, { conversationId: ids[0] })).status).toBe(400);
  });
});

describe('Users API', () => {
  const usersUrl = (q: string) => `${sb.url}/api/account/${sb.accountId}/configuration/le-users/users?${q}`;
  it('returns deleted users only with include_deleted=true, with an ac-revision header; v is required', async () => {
    const withDeleted = await fetch(usersUrl('v=6.0&select=$all&include_deleted=true'), {
      headers: { authorization: auth },
    });
    expect(withDeleted.status).toBe(200);
    expect(withDeleted.headers.get('ac-revision')).toMatch(/^\d+$/);
    const all = (await withDeleted.json()) as Array<Record<string, unknown>>;
    const without = (await (
      await fetch(usersUrl('v=6.0&select=$all'), { headers: { authorization: auth } })
    ).json()) as Array<Record<string, unknown>>;
    expect(all.length).toBeGreaterThanOrEqual(20);
    expect(all.filter((u) => u.deleted === true)).toHaveLength(1);
    expect(without).toHaveLength(all.length - 1);
    expect(all.some((u) => u.userTypeId === 2)).toBe(true);
    for (const u of all)
      expect(Object.keys(u)).toEqual(
        expect.arrayContaining([
          'id',
          'loginName',
          'fullName',
          'email',
          'employeeId',
          'isEnabled',
          'isApiUser',
        ]),
      );
    expect((await fetch(usersUrl('select=$all'), { headers: { authorization: auth } })).status).toBe(400);
    expect((await fetch(usersUrl('v=6.0'))).status).toBe(401);
  });

  it('every agent a conversation names is in the directory', async () => {
    const users = (await (
      await fetch(usersUrl('v=6.0&include_deleted=true'), { headers: { authorization: auth } })
    ).json()) as Array<{
      id: number;
    }>;
    const known = new Set(users.map((u) => String(u.id)));
    const all = await searchAll(sb, auth, window());
    const agentIds = all.flatMap((r) =>
      (r.agentParticipants as Array<{ agentId: string }>).map((a) => a.agentId),
    );
    expect(agentIds.length).toBeGreaterThan(100);
    expect(agentIds.filter((id) => !known.has(id))).toEqual([]);
  });
});

function pick(obj: unknown, keys: string[]): Record<string, unknown> {
  const o = obj as Record<string, unknown>;
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}
