import { randomBytes } from 'node:crypto';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphSandbox, startGraphSandbox } from '../../dev/graph-sandbox/index.js';
import { type Answer, call, eml, ensureFolder, graph, importMime, token } from './helpers.js';

const MiB = 1024 * 1024;
const USER = 'sam.manager@brand.example';

let sb: GraphSandbox;
let t: string;
let folder: string;
beforeAll(async () => {
  sb = await startGraphSandbox({ seed: 61 });
  t = await token(sb);
  folder = await ensureFolder(sb, t, USER);
});
afterAll(() => sb.stop());

/** A message of about `size` bytes of body. */
const sized = (messageId: string, size: number) =>
  eml({ messageId, body: 'x'.repeat(size).replace(/(.{76})/g, '$1\r\n') });

/**
 * An importMime whose body is held back after the first chunk, so the request stays in flight (admitted)
 * until `finish()` is called.
 */
function heldImport(target: GraphSandbox, bearer: string, user: string, folderId: string, mime: Buffer) {
  const b64 = Buffer.from(mime.toString('base64'));
  let resolveAnswer!: (a: Answer) => void;
  let rejectAnswer!: (e: Error) => void;
  const answer = new Promise<Answer>((res, rej) => {
    resolveAnswer = res;
    rejectAnswer = rej;
  });
  const req = https.request(
    new URL(
      `/beta/users/${encodeURIComponent(user)}/mailFolders/${encodeURIComponent(folderId)}/importMime`,
      target.url,
    ),
    {
      method: 'POST',
      agent: new https.Agent({ ca: target.caPem }),
      headers: {
        authorization: `Bearer ${bearer}`,
        'content-type': 'text/plain',
        'transfer-encoding': 'chunked',
      },
    },
    (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolveAnswer({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          json: () => JSON.parse(body.toString()),
        });
      });
    },
  );
  req.on('error', rejectAnswer);
  req.write(b64.subarray(0, 100));
  req.flushHeaders();
  return {
    answer,
    finish: () => req.end(b64.subarray(100)),
  };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}

describe('the 4 MB request cap', () => {
  it('answers 413 to a larger request, declared or chunked, and stores nothing', async () => {
    const before = sb.stats().enforced['413'];
    const big = sized('<big@x.invalid>', 3.2 * MiB);
    expect(big.toString('base64').length).toBeGreaterThan(4 * MiB);
    const declared = await importMime(sb, t, USER, folder, big);
    expect(declared.status).toBe(413);
    expect(declared.json().error.message).toMatch(/4MB/);
    const chunked = await call(
      sb,
      'POST',
      `/beta/users/${USER}/mailFolders/${encodeURIComponent(folder)}/importMime`,
      {
        headers: { authorization: `Bearer ${t}`, 'content-type': 'text/plain' },
        body: big.toString('base64'),
        chunked: true,
      },
    );
    expect(chunked.status).toBe(413);
    const json = await graph(sb, t, 'POST', `/v1.0/users/${USER}/messages`, {
      subject: 'big',
      body: { content: 'y'.repeat(4 * MiB) },
    });
    expect(json.status).toBe(413);
    expect(sb.stats().enforced['413']).toBe(before + 3);
    expect((await sb.items(USER)).map((i) => i.internetMessageId)).not.toContain('<big@x.invalid>');
    // Just under the cap passes.
    const near = sized('<near@x.invalid>', 2.9 * MiB);
    expect(near.toString('base64').length).toBeLessThan(4 * MiB);
    expect((await importMime(sb, t, USER, folder, near)).status).toBe(201);
  });
});

describe("Outlook's per-mailbox limits", () => {
  it('refuses a fifth concurrent request to one mailbox with 429 and Retry-After; other mailboxes are not affected', async () => {
    const held = Array.from({ length: 4 }, (_, i) =>
      heldImport(sb, t, USER, folder, eml({ messageId: `<held${i}@x.invalid>` })),
    );
    await until(() => sb.stats().maxConcurrency[USER] === 4);
    const fifth = await importMime(sb, t, USER, folder, eml({ messageId: '<fifth@x.invalid>' }));
    expect(fifth.status).toBe(429);
    expect(fifth.json().error.code).toBe('ApplicationThrottled');
    expect(Number(fifth.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const other = await ensureFolder(sb, t, 'ana.souza@brand.example');
    expect((await importMime(sb, t, 'ana.souza@brand.example', other, eml())).status).toBe(201);
    for (const h of held) h.finish();
    expect((await Promise.all(held.map((h) => h.answer))).map((a) => a.status)).toEqual([201, 201, 201, 201]);
    expect(sb.stats().enforced['429.concurrency']).toBe(1);
    expect((await importMime(sb, t, USER, folder, eml({ messageId: '<fifth@x.invalid>' }))).status).toBe(201);
  });

  it('refuses uploads over the volume window with a Retry-After that, honoured, lets the request through', async () => {
    const small = await startGraphSandbox({
      seed: 62,
      limits: { uploadBytesPerWindow: 100_000, uploadWindowMs: 60_000 },
    });
    try {
      const st = await token(small);
      const f = await ensureFolder(small, st, USER);
      expect((await importMime(small, st, USER, f, sized('<v1@x.invalid>', 60_000))).status).toBe(201);
      const refused = await importMime(small, st, USER, f, sized('<v2@x.invalid>', 60_000));
      expect(refused.status).toBe(429);
      const wait = Number(refused.headers['retry-after']);
      expect(wait).toBeGreaterThan(1);
      expect(wait).toBeLessThanOrEqual(60);
      expect((await small.items(USER)).map((i) => i.internetMessageId)).toEqual(['<v1@x.invalid>']);
      small.clock.advance((wait - 1) * 1000);
      expect((await importMime(small, st, USER, f, sized('<v2@x.invalid>', 60_000))).status).toBe(429);
      small.clock.advance(1000);
      expect((await importMime(small, st, USER, f, sized('<v2@x.invalid>', 60_000))).status).toBe(201);
      expect(small.stats().enforced['429.upload']).toBe(2);
      expect(small.stats().uploadedBytes[USER]).toBeGreaterThan(160_000);
    } finally {
      await small.stop();
    }
  });

  it('refuses requests over the request-rate window, and nothing with limits off', async () => {
    const few = await startGraphSandbox({
      seed: 63,
      limits: { requestsPerWindow: 3, requestWindowMs: 10_000 },
    });
    const off = await startGraphSandbox({ seed: 64, limits: false });
    try {
      const ft = await token(few);
      const path = `/v1.0/users/${USER}/mailFolders/inbox`;
      for (let i = 0; i < 3; i++) expect((await graph(few, ft, 'GET', path)).status).toBe(200);
      const fourth = await graph(few, ft, 'GET', path);
      expect(fourth.status).toBe(429);
      expect(Number(fourth.headers['retry-after'])).toBeLessThanOrEqual(10);
      few.clock.advance(Number(fourth.headers['retry-after']) * 1000);
      expect((await graph(few, ft, 'GET', path)).status).toBe(200);

      const ot = await token(off);
      const of = await ensureFolder(off, ot, USER);
      const held = Array.from({ length: 8 }, (_, i) =>
        heldImport(off, ot, USER, of, eml({ messageId: `<h${i}@x.invalid>` })),
      );
      await until(() => off.stats().maxConcurrency[USER] === 8);
      for (const h of held) h.finish();
      expect((await Promise.all(held.map((h) => h.answer))).every((a) => a.status === 201)).toBe(true);
    } finally {
      await few.stop();
      await off.stop();
    }
  });

  it('counts upload-session PUTs against the mailbox of the message', async () => {
    const small = await startGraphSandbox({
      seed: 65,
      limits: { uploadBytesPerWindow: 5 * MiB, uploadWindowMs: 60_000 },
    });
    try {
      const st = await token(small);
      const draft = await graph(small, st, 'POST', `/v1.0/users/${USER}/messages`, { subject: 'draft' });
      const s = await graph(
        small,
        st,
        'POST',
        `/v1.0/users/${USER}/messages/${encodeURIComponent(draft.json().id)}/attachments/createUploadSession`,
        {
          AttachmentItem: { attachmentType: 'file', name: 'f.bin', size: 6 * MiB },
        },
      );
      const file = randomBytes(6 * MiB);
      const putRange = (a: number, b: number) =>
        call(small, 'PUT', s.json().uploadUrl, {
          body: file.subarray(a, b),
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `bytes ${a}-${b - 1}/${file.length}`,
          },
        });
      expect((await putRange(0, 3 * MiB)).status).toBe(200);
      const refused = await putRange(3 * MiB, 6 * MiB);
      expect(refused.status).toBe(429);
      small.clock.advance(Number(refused.headers['retry-after']) * 1000);
      expect((await putRange(3 * MiB, 6 * MiB)).status).toBe(201);
      expect(small.stats().uploadedBytes[USER]).toBeGreaterThanOrEqual(6 * MiB);
    } finally {
      await small.stop();
    }
  });
});
