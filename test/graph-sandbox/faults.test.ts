import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphSandbox, startGraphSandbox } from '../../dev/graph-sandbox/index.js';
import { call, credential, eml, ensureFolder, graph, importMime, token } from './helpers.js';

const USER = 'ana.souza@brand.example';

let sb: GraphSandbox;
let t: string;
let folder: string;
beforeAll(async () => {
  sb = await startGraphSandbox({ seed: 71 });
  t = await token(sb);
  folder = await ensureFolder(sb, t, USER);
});
afterAll(() => sb.stop());

describe('injected faults', () => {
  it('answers 429 or 503 with Retry-After and stores nothing; the token endpoint stays reliable', async () => {
    sb.setFaults({ rate429: 1, retryAfterSeconds: 7 });
    try {
      const r = await importMime(sb, t, USER, folder, eml({ messageId: '<f429@x.invalid>' }));
      expect(r.status).toBe(429);
      expect(r.headers['retry-after']).toBe('7');
      await expect(credential(sb).getToken('https://graph.microsoft.com/.default')).resolves.toBeTruthy();
      sb.setFaults({ rate429: 0, rate503: 1 });
      const u = await importMime(sb, t, USER, folder, eml({ messageId: '<f503@x.invalid>' }));
      expect(u.status).toBe(503);
      expect(u.json().error.code).toBe('ServiceUnavailable');
    } finally {
      sb.setFaults({ rate429: 0, rate503: 0 });
    }
    expect(sb.stats().injected).toMatchObject({ '429': 1, '503': 1 });
    expect((await sb.items(USER)).map((i) => i.internetMessageId)).toEqual([]);
  });

  it('drops the connection without an answer, before anything is stored', async () => {
    sb.setFaults({ dropRate: 1 });
    try {
      await expect(
        importMime(sb, t, USER, folder, eml({ messageId: '<dropped@x.invalid>' })),
      ).rejects.toThrow();
    } finally {
      sb.setFaults({ dropRate: 0 });
    }
    expect(await sb.items(USER)).toHaveLength(0);
    expect(sb.stats().injected.drop).toBe(1);
  });

  it('commitThenDrop stores the item and then drops the connection: the client sees a failure, the mailbox has it', async () => {
    sb.setFaults({ commitThenDropRate: 1 });
    try {
      await expect(
        importMime(sb, t, USER, folder, eml({ messageId: '<committed@x.invalid>' })),
      ).rejects.toThrow();
      // Reads are not commits: they are answered.
      expect((await graph(sb, t, 'GET', `/v1.0/users/${USER}/mailFolders/inbox`)).status).toBe(200);
    } finally {
      sb.setFaults({ commitThenDropRate: 0 });
    }
    const items = await sb.items(USER);
    expect(items.map((i) => [i.internetMessageId, i.isDraft])).toEqual([['<committed@x.invalid>', false]]);
    const q = new URLSearchParams({ $filter: "internetMessageId eq '<committed@x.invalid>'", $select: 'id' });
    const found = await graph(
      sb,
      t,
      'GET',
      `/v1.0/users/${USER}/mailFolders/${encodeURIComponent(folder)}/messages?${q}`,
    );
    expect(found.json().value).toHaveLength(1);
    expect(sb.stats().injected.commitThenDrop).toBe(1);
  });

  it('commitThenDropFirst drops exactly the next N stores, then answers again', async () => {
    const before = sb.stats().injected.commitThenDrop;
    sb.setFaults({ commitThenDropFirst: 2 });
    for (const n of [1, 2])
      await expect(
        importMime(sb, t, USER, folder, eml({ messageId: `<first-${n}@x.invalid>` })),
      ).rejects.toThrow();
    const third = await importMime(sb, t, USER, folder, eml({ messageId: '<first-3@x.invalid>' }));
    expect(third.status).toBe(201);
    expect(sb.stats().injected.commitThenDrop - before).toBe(2);
    const ids = (await sb.items(USER)).map((i) => i.internetMessageId);
    for (const n of [1, 2, 3]) expect(ids).toContain(`<first-${n}@x.invalid>`);
  });

  it('commitThenDrop on an upload range keeps the range: a resend is refused with 416 and where to resume', async () => {
    const draft = await graph(sb, t, 'POST', `/v1.0/users/${USER}/messages`, { subject: 'upload' });
    const s = await graph(
      sb,
      t,
      'POST',
      `/v1.0/users/${USER}/messages/${encodeURIComponent(draft.json().id)}/attachments/createUploadSession`,
      {
        AttachmentItem: { attachmentType: 'file', name: 'f.bin', size: 4_000_000 },
      },
    );
    const file = Buffer.alloc(4_000_000, 7);
    const put = (a: number, b: number) =>
      call(sb, 'PUT', s.json().uploadUrl, {
        body: file.subarray(a, b),
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `bytes ${a}-${b - 1}/${file.length}`,
        },
      });
    sb.setFaults({ commitThenDropRate: 1 });
    try {
      await expect(put(0, 2_000_000)).rejects.toThrow();
    } finally {
      sb.setFaults({ commitThenDropRate: 0 });
    }
    const again = await put(0, 2_000_000);
    expect(again.status).toBe(416);
    expect(again.json().nextExpectedRanges).toEqual(['2000000-3999999']);
    expect((await put(2_000_000, 4_000_000)).status).toBe(201);
  });

  it('can fault the token endpoint too (faultsOnToken)', async () => {
    const flaky = await startGraphSandbox({
      seed: 72,
      faultsOnToken: true,
      faults: { rate503: 1, retryAfterSeconds: 0 },
    });
    try {
      await expect(token(flaky)).rejects.toThrow();
    } finally {
      await flaky.stop();
    }
  });

  it('repeats the same faults for the same seed', async () => {
    const statuses = async (seed: number) => {
      const s = await startGraphSandbox({ seed, faults: { rate429: 0.3, rate503: 0.2 } });
      try {
        const bearer = await token(s);
        const out: number[] = [];
        for (let i = 0; i < 24; i++) out.push((await graph(s, bearer, 'GET', `/v1.0/users/${USER}`)).status);
        return out;
      } finally {
        await s.stop();
      }
    };
    const a = await statuses(5);
    expect(await statuses(5)).toEqual(a);
    expect(new Set(a)).toEqual(new Set([200, 429, 503]));
    expect(await statuses(6)).not.toEqual(a);
  });
});
