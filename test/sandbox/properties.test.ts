import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../dev/sandbox/index.js';
import { DELETED } from '../../dev/sandbox/render.js';
import { roundDown, roundUp } from '../../dev/sandbox/search.js';
import { ConversationRecordSchema } from '../../lib/liveperson/record.js';
import { bearer, DAY, type Raw, searchAll, T0 } from './helpers.js';

let sb: Sandbox;
let auth: string;
beforeAll(async () => {
  sb = await startSandbox({ conversations: 120, seed: 17, now: T0, realTime: false, spanDays: 20 });
  auth = await bearer(sb);
});
afterAll(() => sb.stop());

/** Every instant a record shows (epoch-ms fields), to check lastUpdateTime against. */
function instants(value: unknown, out: number[] = []): number[] {
  if (Array.isArray(value)) for (const v of value) instants(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (/TimeL$|^timeL$|^lastUpdatedTime$/.test(k) && typeof v === 'number' && v > 0) out.push(v);
      else if (k === 'serverTimeStamp' && typeof v === 'string') out.push(Number(v));
      else instants(v, out);
    }
  }
  return out;
}

describe('sandbox invariants', () => {
  it('lastUpdateTime is the latest instant the record shows, at any clock position', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 * DAY }), (advanceBy) => {
        // Each run moves the clock forward, never back.
        sb.clock.advance(advanceBy % (2 * DAY));
        for (const id of sb.conversations.ids()) {
          const record = sb.conversations.get(id);
          if (!record || JSON.stringify(record).includes(DELETED)) continue; // a redaction shows no instant
          expect(sb.conversations.lastUpdateTime(id)).toBe(Math.max(...instants(record)));
        }
      }),
      { numRuns: 8 },
    );
  });

  it('every generated record, open, closed or redacted, is accepted by the project record schema', () => {
    const ids = sb.conversations.ids();
    sb.conversations.redact(ids[0]!);
    const failures = ids
      .map((id) => [id, ConversationRecordSchema.safeParse(sb.conversations.get(id))] as const)
      .filter(([, r]) => !r.success)
      .map(([id, r]) => `${id}: ${r.error?.issues[0]?.path.join('.')} ${r.error?.issues[0]?.message}`);
    expect(failures).toEqual([]);
    const statuses = new Set(ids.map((id) => (sb.conversations.get(id) as Raw).info.status));
    expect(statuses).toEqual(new Set(['OPEN', 'CLOSE']));
  });

  it('search pages hold every matching record exactly once, in order, for any limit, sort and filters', async () => {
    auth = await bearer(sb);
    const now = sb.clock.now();
    const everything = sb.conversations.ids().map((id) => sb.conversations.get(id) as Raw);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 100 }),
        fc.constantFrom('start:asc', 'start:desc', 'end:asc', 'end:desc'),
        fc.subarray(['OPEN', 'CLOSE'], { minLength: 1 }),
        fc.integer({ min: 0, max: 25 * DAY }),
        fc.integer({ min: 1, max: 25 * DAY }),
        async (limit, sort, status, fromBack, length) => {
          const from = now - 40 * DAY + fromBack;
          const to = from + length;
          const records = await searchAll(
            sb,
            auth,
            { start: { from, to }, status },
            `source=p&limit=${limit}&sort=${sort}`,
          );
          const ids = records.map((r) => r.info.conversationId as string);
          expect(new Set(ids).size).toBe(ids.length);
          const expected = everything.filter(
            (r) =>
              r.info.startTimeL >= roundDown(from) &&
              r.info.startTimeL <= roundUp(to) &&
              status.includes(r.info.status),
          );
          expect([...ids].sort()).toEqual(expected.map((r) => r.info.conversationId).sort());
          const [field, dir] = sort.split(':') as ['start' | 'end', 'asc' | 'desc'];
          const keys = records.map(
            (r) => (field === 'start' ? r.info.startTimeL : r.info.endTimeL) as number,
          );
          for (let i = 1; i < keys.length; i++) {
            if (dir === 'asc') expect(keys[i]).toBeGreaterThanOrEqual(keys[i - 1]!);
            else expect(keys[i]).toBeLessThanOrEqual(keys[i - 1]!);
          }
        },
      ),
      { numRuns: 15 },
    );
  });
});
