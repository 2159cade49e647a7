import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../dev/sandbox/index.js';
import { DELETED } from '../../dev/sandbox/render.js';
import { roundDown } from '../../dev/sandbox/search.js';
import { bearer, byIdUrl, DAY, post, type Raw, searchAll, T0 } from './helpers.js';

const window = (now: number) => ({ start: { from: now - 60 * DAY, to: now + DAY } });

describe('determinism', () => {
  it('the same seed gives the same records byte for byte; another seed does not', async () => {
    const [a, b, c] = await Promise.all([
      startSandbox({ conversations: 60, seed: 5, now: T0, realTime: false }),
      startSandbox({ conversations: 60, seed: 5, now: T0, realTime: false }),
      startSandbox({ conversations: 60, seed: 6, now: T0, realTime: false }),
    ]);
    try {
      expect(a.conversations.ids()).toEqual(b.conversations.ids());
      const dump = (s: Sandbox) => JSON.stringify(s.conversations.ids().map((id) => s.conversations.get(id)));
      expect(dump(a)).toBe(dump(b));
      const viaHttp = async (s: Sandbox) => JSON.stringify(await searchAll(s, await bearer(s), window(T0)));
      expect(await viaHttp(a)).toBe(await viaHttp(b));
      expect(c.conversations.ids().filter((id) => a.conversations.ids().includes(id))).toEqual([]);
    } finally {
      await Promise.all([a.stop(), b.stop(), c.stop()]);
    }
  });

  it('starts 10,000 conversations with distinct ids', async () => {
    const big = await startSandbox({ conversations: 10_000, seed: 9, now: T0, realTime: false });
    try {
      expect(new Set(big.conversations.ids()).size).toBe(10_000);
    } finally {
      await big.stop();
    }
  });
});

describe('time moving on', () => {
  let sb: Sandbox;
  let auth: string;
  beforeAll(async () => {
    sb = await startSandbox({ conversations: 300, seed: 21, now: T0, realTime: false, spanDays: 30 });
    auth = await bearer(sb);
  });
  afterAll(() => sb.stop());

  it('planned late changes (surveys, redactions) surface as updates found by latestUpdateTime', async () => {
    const ids = sb.conversations.ids();
    const before = new Map(ids.map((id) => [id, sb.conversations.lastUpdateTime(id)!]));
    const closedBefore = new Set(
      ids.filter((id) => (sb.conversations.get(id) as Raw).info.status === 'CLOSE'),
    );
    sb.clock.advance(25 * DAY);
    auth = await bearer(sb);
    const now = sb.clock.now();
    const changed = ids.filter(
      (id) => closedBefore.has(id) && sb.conversations.lastUpdateTime(id)! > before.get(id)!,
    );
    expect(changed.length).toBeGreaterThan(0);
    const since = T0 + 1;
    const found = await searchAll(sb, auth, { ...window(now), latestUpdateTime: { from: since } });
    const expected = ids.filter((id) => sb.conversations.lastUpdateTime(id)! >= roundDown(since));
    expect(found.map((r) => r.info.conversationId).sort()).toEqual(expected.sort());
    for (const id of changed) expect(expected).toContain(id);
    // The number form of latestUpdateTime is accepted too.
    const numeric = await searchAll(sb, auth, { ...window(now), latestUpdateTime: since });
    expect(numeric).toHaveLength(found.length);
  });

  it('a conversation whose close lies in the future is OPEN now and CLOSE later', async () => {
    const [id] = sb.conversations.add(1) as [string];
    const first = sb.conversations.get(id) as Raw;
    expect(first.info.status).toBe('OPEN');
    expect(first.info.endTimeL).toBe(-1);
    const visible = (first.messageRecords as Raw[]).length;
    sb.clock.advance(DAY);
    const later = sb.conversations.get(id) as Raw;
    expect((later.messageRecords as Raw[]).length).toBeGreaterThanOrEqual(visible);
    // ~6% of generated conversations never close; the rest close within the day.
    if (later.info.status === 'CLOSE') expect(later.info.endTimeL).toBeGreaterThan(later.info.startTimeL);
    expect(sb.conversations.lastUpdateTime(id)).toBeGreaterThan(first.info.startTimeL);
  });

  it('addLateSurvey moves endTime and lastUpdateTime; redact masks texts and files with LP’s marker', async () => {
    auth = await bearer(sb);
    const id = sb.conversations
      .ids()
      .find(
        (i) =>
          (sb.conversations.get(i) as Raw).info.fullDialogStatus === 'CLOSE' &&
          sb.conversations.files(i).length > 0,
      )!;
    const before = sb.conversations.get(id) as Raw;
    sb.clock.advance(60_000);
    sb.conversations.addLateSurvey(id);
    const now = sb.clock.now();
    const after = sb.conversations.get(id) as Raw;
    expect(sb.conversations.lastUpdateTime(id)).toBe(now);
    expect(after.info.endTimeL).toBe(now);
    expect(after.info.endTimeL).toBeGreaterThan(before.info.endTimeL);
    expect(after.info.conversationEndTimeL).toBe(before.info.conversationEndTimeL);
    expect(after.dialogs.some((d: Raw) => d.dialogType === 'POST_SURVEY')).toBe(true);

    sb.clock.advance(60_000);
    sb.conversations.redact(id);
    const res = await post(byIdUrl(sb), auth, { conversationId: id });
    const rec = ((await res.json()) as Raw).conversationHistoryRecords[0];
    const texts = (rec.messageRecords as Raw[]).filter((m) => m.type === 'TEXT_PLAIN' && m.dialogId === id);
    expect(texts.length).toBeGreaterThan(0);
    expect(texts.every((m) => m.messageData.msg.text === DELETED)).toBe(true);
    const files = (rec.messageRecords as Raw[]).filter((m) => m.type === 'HOSTED_FILE');
    expect(
      files.every((m) => m.messageData.file.caption === DELETED && m.messageData.file.preview === undefined),
    ).toBe(true);
    expect(rec.consumerParticipants[0].firstName).toBe(DELETED);
    expect(sb.conversations.lastUpdateTime(id)).toBe(sb.clock.now());
  });

  it('a second late survey adds an answer and keeps the first one as it was', () => {
    const id = sb.conversations
      .ids()
      .find((i) => (sb.conversations.get(i) as Raw).info.fullDialogStatus === 'CLOSE')!;
    const surveyMessages = (r: Raw) => (r.messageRecords as Raw[]).filter((m) => m.dialogId !== id);
    const before = surveyMessages(sb.conversations.get(id) as Raw);
    sb.clock.advance(60_000);
    sb.conversations.addLateSurvey(id);
    const first = surveyMessages(sb.conversations.get(id) as Raw);
    expect(first).toHaveLength(before.length + 1);
    sb.clock.advance(60_000);
    sb.conversations.addLateSurvey(id);
    const second = sb.conversations.get(id) as Raw;
    expect(surveyMessages(second)).toHaveLength(before.length + 2);
    expect(surveyMessages(second).slice(0, first.length)).toEqual(first);
    expect(second.info.endTimeL).toBe(sb.clock.now());
    expect(second.conversationSurveys[0].surveyData).toHaveLength(before.length + 2);
  });

  it('indexLagMs hides an update from search (not from by-ID) until the lag has passed', async () => {
    auth = await bearer(sb);
    const id = sb.conversations
      .ids()
      .find(
        (i) =>
          (sb.conversations.get(i) as Raw).info.status === 'CLOSE' &&
          !JSON.stringify(sb.conversations.get(i)).includes(DELETED),
      )!;
    sb.setFaults({ indexLagMs: 60_000 });
    try {
      sb.clock.advance(20 * 60_000);
      sb.conversations.redact(id);
      const now = sb.clock.now();
      const query = { ...window(now), latestUpdateTime: { from: now } };
      expect((await searchAll(sb, auth, query)).map((r) => r.info.conversationId)).not.toContain(id);
      const byId = ((await (await post(byIdUrl(sb), auth, { conversationId: id })).json()) as Raw)
        .conversationHistoryRecords[0];
      expect(JSON.stringify(byId)).toContain(DELETED);
      sb.clock.advance(60_000);
      const after = await searchAll(sb, auth, query);
      expect(after.map((r) => r.info.conversationId)).toContain(id);
    } finally {
      sb.setFaults({ indexLagMs: 0 });
    }
  });

  it('corrupt() changes what both search and by-ID return for one record only', async () => {
    auth = await bearer(sb);
    const [bad, good] = sb.conversations.ids() as [string, string];
    sb.conversations.corrupt(bad, (raw) => {
      raw.info.startTimeL = 'not-a-number';
      delete raw.messageRecords;
    });
    const rec = ((await (await post(byIdUrl(sb), auth, { conversationIds: [bad, good] })).json()) as Raw)
      .conversationHistoryRecords as Raw[];
    const b = rec.find((r) => r.info.conversationId === bad);
    expect(b.info.startTimeL).toBe('not-a-number');
    expect(b.messageRecords).toBeUndefined();
    expect(rec.find((r) => r.info.conversationId === good).messageRecords.length).toBeGreaterThan(0);
  });
});
