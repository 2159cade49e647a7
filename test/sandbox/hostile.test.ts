/**
 * The sandbox's Bulk File Download list filter (an assumption beyond LivePerson's docs), its strict mode,
 * and the hostile hooks the client's defences are tested against.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { type Sandbox, startSandbox } from '../../dev/sandbox/index.js';
import { bearer, byIdUrl, oauth1Header, type Raw, T0 } from './helpers.js';

let sb: Sandbox;
let auth: string;
beforeAll(async () => {
  sb = await startSandbox({ conversations: 120, seed: 21, now: T0, fileSizes: { min: 200, max: 2000 } });
  auth = await bearer(sb);
});
afterAll(() => sb.stop());

const requestsUrl = (s = sb) => `${s.url}/v1/account/${s.accountId}/bulk-download-requests`;

async function create(filter: unknown, s = sb, authorization = auth) {
  return fetch(requestsUrl(s), {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ filter }),
  });
}

async function requestIdOf(filter: unknown): Promise<string> {
  return ((await (await create(filter)).json()) as Raw).requestId;
}

async function untilDone(requestId: string, polls = 5): Promise<Raw> {
  let body: Raw;
  for (let i = 0; i < polls; i++) {
    body = await (await fetch(`${requestsUrl()}/${requestId}`, { headers: { authorization: auth } })).json();
    if (body.status === 'READY' || body.status === 'FAILED') return body;
  }
  return body;
}

async function zipEntries(
  buffer: Buffer,
): Promise<Array<{ name: string; size: number; compressed: number }>> {
  return new Promise((resolve, reject) =>
    yauzl.fromBuffer(buffer, { lazyEntries: true, decodeStrings: false }, (err, zip) => {
      if (err) return reject(err);
      const out: Array<{ name: string; size: number; compressed: number }> = [];
      zip.on('entry', (e: yauzl.Entry) => {
        out.push({
          name: (e.fileName as unknown as Buffer).toString('utf8'),
          size: e.uncompressedSize,
          compressed: e.compressedSize,
        });
        zip.readEntry();
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    }),
  );
}

async function download(url: string): Promise<Buffer> {
  return Buffer.from(await (await fetch(url)).arrayBuffer());
}

const closedWithFiles = (min = 1, max = 10) =>
  sb.conversations.ids().filter((id) => {
    const n = sb.conversations.files(id).length;
    return n >= min && n <= max && (sb.conversations.get(id) as Raw).info.status === 'CLOSE';
  });

describe('Bulk File Download list filter (an assumption beyond the docs)', () => {
  it('serves several conversations in one request, entries under <conversationId>/<relativePath>', async () => {
    const ids = closedWithFiles().slice(0, 3);
    const created = await create({ conversationIds: ids });
    expect(created.status).toBe(201);
    const req = (await created.json()) as Raw;
    expect(req.filter).toEqual({ conversationIds: ids });
    const done = await untilDone(req.requestId);
    expect(done.status).toBe('READY');
    const names: string[] = [];
    for (const u of done.downloadUrls)
      names.push(...(await zipEntries(await download(u))).map((e) => e.name));
    const expected = ids.flatMap((id) =>
      sb.conversations.files(id).map((p) => `${id}/${p.replace(/^\/+/, '')}`),
    );
    expect(names.sort()).toEqual(expected.sort());
  });

  it('refuses more than 100 ids, and a list that is not one', async () => {
    expect((await create({ conversationIds: Array.from({ length: 101 }, (_, i) => `c${i}`) })).status).toBe(
      400,
    );
    expect((await create({ conversationIds: 'c1' })).status).toBe(400);
    expect((await create({ conversationIds: ['c1'], conversationId: 'c1' })).status).toBe(400);
  });

  it('fails the whole request when one conversation fails', async () => {
    const ids = closedWithFiles().slice(0, 2);
    const done = await untilDone(await requestIdOf({ conversationIds: [...ids, 'nope'] }));
    expect(done.status).toBe('FAILED');
  });

  it('with bulkListFilter: false answers the list filter 400, as the docs imply, and serves the documented one', async () => {
    const strict = await startSandbox({ conversations: 5, seed: 21, now: T0, bulkListFilter: false });
    try {
      const token = await bearer(strict);
      const id = strict.conversations.ids()[0]!;
      const list = await create({ conversationIds: [id] }, strict, token);
      expect(list.status).toBe(400);
      expect(((await list.json()) as Raw).message).toMatch(
        /filter\.conversationId is required|only conversationId/,
      );
      expect((await create({ conversationId: id }, strict, token)).status).toBe(201);
    } finally {
      await strict.stop();
    }
  });
});

describe('hostile hooks', () => {
  it('addWithIds keeps any id exactly, closed; renameFile makes two names collide in folder and case', async () => {
    const ids = [' same-id', 'same-id', '.', '..', '\ud800x', 'x'.repeat(1100)];
    sb.conversations.addWithIds(ids, { startL: sb.clock.now() - 3_600_000 });
    for (const id of ids)
      expect((sb.conversations.get(id) as Raw).info).toMatchObject({ conversationId: id, status: 'CLOSE' });
    const res = await fetch(byIdUrl(sb), {
      method: 'POST',
      headers: { authorization: oauth1Header(sb, 'POST', byIdUrl(sb)), 'content-type': 'application/json' },
      body: JSON.stringify({ conversationIds: [' same-id', 'same-id'] }),
    });
    const got = ((await res.json()) as Raw).conversationHistoryRecords.map((r: Raw) => r.info.conversationId);
    expect(got.sort()).toEqual([' same-id', 'same-id']);

    const id = closedWithFiles(2)[0]!;
    const [a, b] = sb.conversations.files(id) as [string, string];
    sb.conversations.renameFile(id, a, '/d1/photo.png');
    sb.conversations.renameFile(id, b, '/d2/PHOTO.png');
    expect(sb.conversations.files(id).slice(0, 2)).toEqual(['/d1/photo.png', '/d2/PHOTO.png']);
    const done = await untilDone(await requestIdOf({ conversationId: id }));
    const names = (await zipEntries(await download(done.downloadUrls[0]))).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['d1/photo.png', 'd2/PHOTO.png']));
    expect(
      sb.conversations.fileBytes('/d1/photo.png').equals(sb.conversations.fileBytes('/d2/PHOTO.png')),
    ).toBe(false);
  });

  it('adds repeated entries, entry floods and compression bombs to a conversation archive', async () => {
    const [id] = closedWithFiles(1, 3) as [string];
    const [file] = sb.conversations.files(id) as [string];
    sb.hostile.addZipEntry(id, file, Buffer.from('impostor'));
    sb.hostile.addZipEntries(id, 60);
    sb.hostile.zipBomb(file, 50 * 1024 * 1024);
    const done = await untilDone(await requestIdOf({ conversationId: id }));
    const zip = await download(done.downloadUrls[0]);
    const entries = await zipEntries(zip);
    const named = entries.filter((e) => e.name === file.slice(1));
    expect(named).toHaveLength(2);
    expect(named[0]).toMatchObject({ size: 50 * 1024 * 1024 });
    expect(named[0]!.compressed).toBeLessThan(200_000);
    expect(entries.length).toBeGreaterThan(60);
    expect(zip.length).toBeLessThan(300_000);
  });

  it('stalls requests, breaks transfers, answers 503 for a while, blows up JSON answers', async () => {
    const [id] = closedWithFiles(1, 3) as [string];
    sb.hostile.stallBulkDownload(id, 1);
    const stuck = await untilDone(await requestIdOf({ conversationId: id }), 6);
    expect(stuck.status).toBe('IN_PROGRESS');
    const ready = await untilDone(await requestIdOf({ conversationId: id }));
    expect(ready.status).toBe('READY');

    sb.hostile.breakZipTransfers(1);
    await expect(download(ready.downloadUrls[0])).rejects.toThrow();
    expect((await download(ready.downloadUrls[0])).length).toBeGreaterThan(0);

    sb.hostile.filesOutage(2);
    expect((await create({ conversationId: id })).status).toBe(503);
    expect((await create({ conversationId: id })).status).toBe(503);
    expect((await create({ conversationId: id })).status).toBe(201);

    sb.hostile.oversizeJson('byId', 3 * 1024 * 1024);
    const big = await fetch(byIdUrl(sb), {
      method: 'POST',
      headers: { authorization: oauth1Header(sb, 'POST', byIdUrl(sb)), 'content-type': 'application/json' },
      body: JSON.stringify({ conversationIds: [id] }),
    });
    expect(big.headers.get('content-length')).toBeNull();
    const text = await big.text();
    expect(text.length).toBeGreaterThan(3 * 1024 * 1024 - 10);
    expect(JSON.parse(text).conversationHistoryRecords).toEqual([]);
  });
});
