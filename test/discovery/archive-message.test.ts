import { describe, expect, it } from 'vitest';
import {
  encodeArchiveGroup,
  encodeArchiveMessage,
  newGroup,
  newTraceparent,
  readArchiveMessage,
  TRACEPARENT,
} from '../../lib/discovery/archive-message.js';
import { asciiJson } from '../../lib/queue/codec.js';

const entry = (conversationId: string) => ({
  conversationId,
  startTime: 1_700_000_000_000,
  updateTime: 1_700_000_000_000,
  status: 'CLOSE' as const,
  traceparent: newTraceparent(),
});

describe('archive queue messages', () => {
  it('a group body is printable ASCII and reads back to exactly the same group', () => {
    const g = newGroup('acct', '2024-01-01T00:00:00.000Z', [
      entry('\ud800'),
      entry(' a '),
      entry('日本'),
      entry('"<&>'),
    ]);
    const body = encodeArchiveGroup(g);
    expect(body).toMatch(/^[\x20-\x7e]*$/);
    expect(readArchiveMessage(body)).toEqual({ ok: true, group: g });
    expect(readArchiveMessage(JSON.parse(body))).toEqual({ ok: true, group: g });
    expect(asciiJson('\u2028')).toBe('"\\u2028"');
  });

  it('traceparents are W3C version 00, sampled, never all-zero', () => {
    for (let i = 0; i < 50; i++) expect(newTraceparent()).toMatch(TRACEPARENT);
    expect('00-00000000000000000000000000000000-0000000000000001-01').not.toMatch(TRACEPARENT);
  });

  it('reads the earlier one-conversation message (plain or base64) as a group of one, same ID on every read', () => {
    const legacy = {
      conversationId: 'c1',
      accountId: 'acct',
      startTime: 1,
      updateTime: 2,
      status: 'CLOSE',
      discoveredAt: '2024-01-01T00:00:00.000Z',
    };
    const plain = readArchiveMessage(legacy);
    const b64 = readArchiveMessage(Buffer.from(JSON.stringify(legacy)).toString('base64'));
    expect(plain.ok && b64.ok).toBe(true);
    if (!plain.ok || !b64.ok) return;
    expect(plain.group.conversations).toEqual([
      { conversationId: 'c1', startTime: 1, updateTime: 2, status: 'CLOSE', attempts: 0 },
    ]);
    expect(b64.group.messageId).toBe(plain.group.messageId);
    const single = readArchiveMessage(encodeArchiveMessage({ ...legacy, status: 'CLOSE' }));
    expect(single.ok && single.group.conversations[0]!.traceparent).toMatch(TRACEPARENT);
  });

  it('never throws: names what it can, counts what it cannot', () => {
    expect(readArchiveMessage('not json')).toEqual({
      ok: false,
      reason: 'the message is not JSON',
      named: [],
      unnamed: 1,
    });
    expect(readArchiveMessage({ conversationId: 7 })).toMatchObject({ ok: false, named: [], unnamed: 1 });
    const mixed = readArchiveMessage({
      kind: 'archive-group',
      accountId: 'acct',
      conversations: [{ conversationId: 'ok-id', startTime: 5 }, { conversationId: 3 }, 'junk'],
    });
    expect(mixed).toMatchObject({
      ok: false,
      named: [{ conversationId: 'ok-id', accountId: 'acct', startTime: 5 }],
      unnamed: 2,
    });
    expect(!mixed.ok && mixed.reason).toMatch(/^the message is invalid: /);
  });
});
