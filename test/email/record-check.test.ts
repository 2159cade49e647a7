/**
 * The record schema as the converter runs it (compiled in place by lib/liveperson/schema-check.ts) must
 * accept and reject exactly what zod's own safeParse does, and name the same field; and the canonical
 * JSON behind the content version must be the key-sorted JSON of any value.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../lib/email/version.js';
import { ConversationRecordSchema, checkConversationRecord } from '../../lib/liveperson/record.js';

const fixture = (
  JSON.parse(
    readFileSync(new URL('../fixtures/liveperson/messaging-search-response.json', import.meta.url), 'utf8'),
  ) as { conversationHistoryRecords: Record<string, unknown>[] }
).conversationHistoryRecords;

/** What a field of a record may be replaced with: right forms, placeholders and plain wrong types. */
const anyValue = fc.oneof(
  fc.constantFrom(
    null,
    undefined,
    '',
    'undefined',
    'null',
    '0',
    '-1',
    'NaN',
    ' 12 ',
    '1.5',
    'true',
    'yesterday',
    -1,
    0,
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.string({ maxLength: 8 }),
  fc.constantFrom([], {}, [{}], [1], { text: 5 }, [{ agentId: 1 }]),
);

/** Every path to a value in `v` (objects and arrays), for picking one to replace. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []) {
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const p = [...at, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      paths(x, p, out);
    }
  }
  return out;
}

function replaced(record: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(record) as Record<string | number, unknown>;
  let o = copy;
  for (const p of path.slice(0, -1)) o = o[p] as Record<string | number, unknown>;
  o[path.at(-1) as string | number] = value;
  return copy;
}

describe('the compiled record check agrees with zod', () => {
  it('on fixture records with any one field replaced by any value', () => {
    const cases = fixture.flatMap((r) => paths(r).map((p) => [r, p] as const));
    fc.assert(
      fc.property(fc.constantFrom(...cases), anyValue, ([record, path], value) => {
        const changed = replaced(record, path, value);
        const zod = ConversationRecordSchema.safeParse(changed);
        const ours = checkConversationRecord(changed);
        const startOk = ours.ok || ours.problem.path.join('.') === 'info.startTimeL';
        if (zod.success) {
          // The checker adds two checks of its own (id length, a start time); the schema has none of them.
          expect(ours.ok || startOk || ours.problem.path.join('.') === 'info.conversationId').toBe(true);
        } else {
          expect(ours.ok).toBe(false);
          // The same field; where zod stops at a union (array or single object), ours goes on to the
          // field inside that is wrong, so zod's path is then the start of ours.
          const zodPath = zod.error.issues[0]?.path ?? [];
          if (!ours.ok) expect(ours.problem.path.slice(0, zodPath.length)).toEqual(zodPath);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('on values that are not records at all', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        expect(checkConversationRecord(v).ok).toBe(ConversationRecordSchema.safeParse(v).success);
      }),
    );
  });

  it('names the field, what was expected and what came', () => {
    const bad = structuredClone(fixture[0]) as { messageRecords: { timeL: unknown }[] };
    (bad.messageRecords[3] as { timeL: unknown }).timeL = 'yesterday';
    expect(checkConversationRecord(bad)).toEqual({
      ok: false,
      problem: { path: ['messageRecords', 3, 'timeL'], message: 'expected number, received string' },
    });
  });
});

describe('canonicalJson', () => {
  const naive = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(naive)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, naive((v as Record<string, unknown>)[k])]),
          )
        : v;
  it('is JSON.stringify of the key-sorted value for any JSON value, __proto__ keys included', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(JSON.stringify(naive(v)));
      }),
      { numRuns: 500 },
    );
    const tricky = JSON.parse('{"b":1,"__proto__":{"x":1},"a":[{"d":1,"c":2}]}');
    expect(canonicalJson(tricky)).toBe('{"__proto__":{"x":1},"a":[{"c":2,"d":1}],"b":1}');
  });
});
