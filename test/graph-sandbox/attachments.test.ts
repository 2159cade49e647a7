import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphSandbox, startGraphSandbox } from '../../dev/graph-sandbox/index.js';
import { call, eml, ensureFolder, graph, importMime, token } from './helpers.js';

const MiB = 1024 * 1024;

let sb: GraphSandbox;
let t: string;
beforeAll(async () => {
  sb = await startGraphSandbox({ seed: 51 });
  t = await token(sb);
});
afterAll(() => sb.stop());

const USER = 'tom.oconnor@brand.example';
const u = `/v1.0/users/${encodeURIComponent(USER)}`;

/** A non-draft JSON item in the archive folder (the 0x0E07 route), returning its id. */
async function delivered(subject: string): Promise<string> {
  const folder = await ensureFolder(sb, t, USER);
  const r = await graph(sb, t, 'POST', `${u}/mailFolders/${encodeURIComponent(folder)}/messages`, {
    subject,
    singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: '1' }],
  });
  expect(r.json().isDraft).toBe(false);
  return r.json().id;
}

const put = (uploadUrl: string, bytes: Buffer, range: string, headers: Record<string, string> = {}) =>
  call(sb, 'PUT', uploadUrl, {
    body: bytes,
    headers: { 'content-type': 'application/octet-stream', 'content-range': range, ...headers },
  });

async function session(messageId: string, size: number, name = 'big.bin') {
  const r = await graph(
    sb,
    t,
    'POST',
    `${u}/messages/${encodeURIComponent(messageId)}/attachments/createUploadSession`,
    {
      AttachmentItem: { attachmentType: 'file', name, size, contentType: 'application/pdf' },
    },
  );
  expect(r.status).toBe(201);
  return r.json() as { uploadUrl: string; expirationDateTime: string; nextExpectedRanges: string[] };
}

async function readBack(subject: string) {
  return (await sb.items(USER)).find((i) => i.subject === subject)!;
}

describe('POST …/messages/{id}/attachments (under 3 MB)', () => {
  it('adds a file attachment just under 3 MB, byte for byte, and refuses one of 3 MB', async () => {
    const id = await delivered('small attachment');
    const bytes = randomBytes(3 * MiB - 2048);
    const r = await graph(sb, t, 'POST', `${u}/messages/${encodeURIComponent(id)}/attachments`, {
      '@odata.type': '#microsoft.graph.fileAttachment',
      name: 'scan.pdf',
      contentType: 'application/pdf',
      contentBytes: bytes.toString('base64'),
    });
    expect(r.status).toBe(201);
    expect(r.json()).toMatchObject({ name: 'scan.pdf', size: bytes.length, isInline: false });
    const item = await readBack('small attachment');
    expect(item.attachments).toHaveLength(1);
    expect(item.attachments[0]!.bytes.equals(bytes)).toBe(true);
    const listed = await graph(sb, t, 'GET', `${u}/messages/${encodeURIComponent(id)}/attachments`);
    expect(
      listed
        .json()
        .value.map((a: { name: string; contentBytes: string }) => [
          a.name,
          Buffer.from(a.contentBytes, 'base64').equals(bytes),
        ]),
    ).toEqual([['scan.pdf', true]]);

    // 3 MB of content is 4 MB of base64: over the request cap before any attachment rule.
    const tooBig = await graph(sb, t, 'POST', `${u}/messages/${encodeURIComponent(id)}/attachments`, {
      '@odata.type': '#microsoft.graph.fileAttachment',
      name: 'big.pdf',
      contentBytes: randomBytes(3 * MiB).toString('base64'),
    });
    expect(tooBig.status).toBe(413);
    expect((await readBack('small attachment')).attachments).toHaveLength(1);
  });
});

describe('upload sessions (3 MB to 150 MB)', () => {
  it('uploads 10 MB in 3 ordered ranges to a non-draft item; the attachment equals the file', async () => {
    const id = await delivered('large attachment');
    const file = randomBytes(10 * MiB);
    const s = await session(id, file.length, 'recording.pdf');
    expect(s.nextExpectedRanges).toEqual(['0-']);
    expect(new URL(s.uploadUrl).host).toBe(new URL(sb.url).host);
    expect(s.uploadUrl).toMatch(/authtoken=/);
    const cuts = [0, 3_500_000, 7_000_000, file.length];
    for (let i = 0; i < 3; i++) {
      const [a, b] = [cuts[i]!, cuts[i + 1]!];
      const r = await put(s.uploadUrl, file.subarray(a, b), `bytes ${a}-${b - 1}/${file.length}`);
      if (i < 2) {
        expect(r.status).toBe(200);
        expect(r.json().nextExpectedRanges).toEqual([String(b)]);
        expect(r.json().expirationDateTime).toBe(s.expirationDateTime);
      } else {
        expect(r.status).toBe(201);
        expect(r.headers.location).toMatch(/\/Attachments\('/);
      }
    }
    const item = await readBack('large attachment');
    expect(item.attachments.map((a) => [a.name, a.contentType, a.size])).toEqual([
      ['recording.pdf', 'application/pdf', file.length],
    ]);
    expect(item.attachments[0]!.bytes.equals(file)).toBe(true);
    // The session is gone once complete.
    expect((await put(s.uploadUrl, file.subarray(0, 10), `bytes 0-9/${file.length}`)).status).toBe(404);
    expect(sb.stats().calls['uploadSession.put']).toBeGreaterThanOrEqual(3);
  });

  it('refuses a range of 4 MB (413), an Authorization header (401), and out-of-order or overlapping ranges (416)', async () => {
    const id = await delivered('bad ranges');
    const file = randomBytes(9 * MiB);
    const s = await session(id, file.length);
    const big = await put(s.uploadUrl, file.subarray(0, 4 * MiB), `bytes 0-${4 * MiB - 1}/${file.length}`);
    expect(big.status).toBe(413);
    const authed = await put(s.uploadUrl, file.subarray(0, 1000), `bytes 0-999/${file.length}`, {
      authorization: `Bearer ${t}`,
    });
    expect(authed.status).toBe(401);
    const gap = await put(s.uploadUrl, file.subarray(1000, 2000), `bytes 1000-1999/${file.length}`);
    expect(gap.status).toBe(416);
    expect(gap.json().nextExpectedRanges).toEqual([`0-${file.length - 1}`]);
    expect(
      (await put(s.uploadUrl, file.subarray(0, 2 * MiB), `bytes 0-${2 * MiB - 1}/${file.length}`)).status,
    ).toBe(200);
    const overlap = await put(
      s.uploadUrl,
      file.subarray(MiB, 3 * MiB),
      `bytes ${MiB}-${3 * MiB - 1}/${file.length}`,
    );
    expect(overlap.status).toBe(416);
    expect(overlap.json().nextExpectedRanges).toEqual([`${2 * MiB}-${file.length - 1}`]);
    const wrongTotal = await put(
      s.uploadUrl,
      file.subarray(2 * MiB, 3 * MiB),
      `bytes ${2 * MiB}-${3 * MiB - 1}/${file.length + 1}`,
    );
    expect(wrongTotal.status).toBe(400);
    const altered = await put(
      s.uploadUrl.replace('AttachmentSessions', 'attachmentsessions'),
      file.subarray(2 * MiB, 3 * MiB),
      `bytes ${2 * MiB}-${3 * MiB - 1}/${file.length}`,
    );
    expect(altered.status).toBe(404);
    expect((await readBack('bad ranges')).attachments).toHaveLength(0);
  });

  it('refuses sessions under 3 MB or over 150 MB, and expires them', async () => {
    const id = await delivered('session sizes');
    for (const [size, code] of [
      [3 * MiB - 1, 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize'],
      [150 * MiB + 1, 'ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize'],
    ] as const) {
      const r = await graph(
        sb,
        t,
        'POST',
        `${u}/messages/${encodeURIComponent(id)}/attachments/createUploadSession`,
        {
          AttachmentItem: { attachmentType: 'file', name: 'x', size },
        },
      );
      expect([r.status, r.json().error.code]).toEqual([400, code]);
    }
    const s = await session(id, 3 * MiB);
    sb.clock.advance(16 * 60 * 1000);
    expect((await put(s.uploadUrl, randomBytes(10), `bytes 0-9/${3 * MiB}`)).status).toBe(404);
  });

  it('can refuse attachments on non-draft items (option attachmentsRequireDraft)', async () => {
    const strict = await startGraphSandbox({ seed: 52, attachmentsRequireDraft: true });
    try {
      const st = await token(strict);
      const folder = await ensureFolder(strict, st, USER);
      const imported = await importMime(strict, st, USER, folder, eml());
      const r = await graph(
        strict,
        st,
        'POST',
        `${u}/messages/${encodeURIComponent(imported.json().id)}/attachments/createUploadSession`,
        {
          AttachmentItem: { attachmentType: 'file', name: 'x', size: 4 * MiB },
        },
      );
      expect([r.status, r.json().error.code]).toEqual([400, 'ErrorInvalidOperation']);
      const draft = await graph(strict, st, 'POST', `${u}/messages`, { subject: 'draft' });
      const ok = await graph(
        strict,
        st,
        'POST',
        `${u}/messages/${encodeURIComponent(draft.json().id)}/attachments/createUploadSession`,
        {
          AttachmentItem: { attachmentType: 'file', name: 'x', size: 4 * MiB },
        },
      );
      expect(ok.status).toBe(201);
    } finally {
      await strict.stop();
    }
  });
});
