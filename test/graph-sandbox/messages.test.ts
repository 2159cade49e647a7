import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphSandbox, startGraphSandbox } from '../../dev/graph-sandbox/index.js';
import { eml, ensureFolder, FOLDER, graph, importMime, token } from './helpers.js';

let sb: GraphSandbox;
let t: string;
let mirror: string;
beforeAll(async () => {
  mirror = await mkdtemp(join(tmpdir(), 'graph-sandbox-mirror-'));
  sb = await startGraphSandbox({ seed: 41, mirrorDir: mirror });
  t = await token(sb);
});
afterAll(async () => {
  await sb.stop();
  await rm(mirror, { recursive: true, force: true });
});

const JANE = 'jane.doe@brand.example';
const u = (user: string) => `/v1.0/users/${encodeURIComponent(user)}`;

/** A message with non-ASCII headers, an attachment and exotic whitespace: bytes must survive untouched. */
function richEml(messageId: string): Buffer {
  return Buffer.from(
    [
      'From: =?UTF-8?B?w4XDtnNh?= <agent@brand.example>',
      'To: jane.doe@brand.example',
      'Subject: =?UTF-8?Q?Conversation_=C2=B7_Billing?=',
      'Date: Tue, 05 Mar 2024 10:00:00 +0100',
      `Message-ID: ${messageId}`,
      'X-LivePerson-Conversation-Id: abc-123',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Héllo   \t with trailing space ',
      '--b1',
      'Content-Type: application/json; name="conversation-abc.json"',
      'Content-Disposition: attachment; filename="conversation-abc.json"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('{"conversationId":"abc"}').toString('base64'),
      '--b1--',
      '',
    ].join('\r\n'),
    'utf8',
  );
}

describe('POST /beta/users/{id}/mailFolders/{id}/importMime', () => {
  it('creates a non-draft item, keeps the MIME byte for byte, and takes Message-ID, Subject and Date from it', async () => {
    const folder = await ensureFolder(sb, t, JANE);
    const mime = richEml('<lp.1.rich.v1@liveperson-archiver.invalid>');
    const r = await importMime(sb, t, JANE, folder, mime);
    expect(r.status).toBe(201);
    const m = r.json();
    expect(m).toMatchObject({
      isDraft: false,
      internetMessageId: '<lp.1.rich.v1@liveperson-archiver.invalid>',
      subject: 'Conversation · Billing',
      sentDateTime: '2024-03-05T09:00:00Z',
      receivedDateTime: '2024-03-05T09:00:00Z',
      parentFolderId: folder,
      hasAttachments: true,
    });
    const [item] = await sb.items(JANE);
    expect(item!.mime.equals(mime)).toBe(true);
    expect(item!.createdVia).toBe('importMime');
    expect(item!.attachments.map((a) => [a.name, a.bytes.toString()])).toEqual([
      ['conversation-abc.json', '{"conversationId":"abc"}'],
    ]);
    const raw = await graph(sb, t, 'GET', `${u(JANE)}/messages/${encodeURIComponent(m.id)}/$value`);
    expect(raw.body.equals(mime)).toBe(true);
  });

  it('exists only in beta, in the folder given by id or well-known name', async () => {
    const v1 = await graph(
      sb,
      t,
      'POST',
      `${u(JANE)}/mailFolders/inbox/importMime`,
      eml().toString('base64'),
      {
        'content-type': 'text/plain',
      },
    );
    expect(v1.status).toBe(400);
    const inbox = await importMime(sb, t, JANE, 'inbox', eml({ messageId: '<in-inbox@x.invalid>' }));
    expect(inbox.status).toBe(201);
    expect((await sb.items(JANE, ['Inbox'])).map((i) => i.internetMessageId)).toContain(
      '<in-inbox@x.invalid>',
    );
  });

  it('refuses invalid base64 (ErrorMimeContentInvalidBase64String), bytes that are no message, and a JSON body', async () => {
    const folder = await ensureFolder(sb, t, 'omar.haddad@brand.example');
    const before = (await sb.items('omar.haddad@brand.example')).length;
    const post = (body: string, type = 'text/plain') =>
      graph(
        sb,
        t,
        'POST',
        `/beta/users/omar.haddad%40brand.example/mailFolders/${encodeURIComponent(folder)}/importMime`,
        body,
        {
          'content-type': type,
        },
      );
    for (const bad of ['not base64!', `${eml().toString('base64url').replace(/=+$/, '')}_`, 'QUJD=A==']) {
      const r = await post(bad);
      expect(r.status, bad).toBe(400);
      expect(r.json().error.code).toBe('ErrorMimeContentInvalidBase64String');
    }
    const noHeaders = await post(Buffer.from('just some text\r\nwithout headers\r\n').toString('base64'));
    expect([noHeaders.status, noHeaders.json().error.code]).toEqual([
      400,
      'ErrorMimeContentConversionFailed',
    ]);
    expect((await post(JSON.stringify({ mime: eml().toString('base64') }), 'application/json')).status).toBe(
      415,
    );
    expect((await sb.items('omar.haddad@brand.example')).length).toBe(before);
  });

  it('accepts base64 with line breaks, as .NET decoders do', async () => {
    const folder = await ensureFolder(sb, t, JANE);
    const wrapped = eml({ messageId: '<wrapped@x.invalid>' }).toString('base64').replace(/.{76}/g, '$&\r\n');
    const r = await graph(
      sb,
      t,
      'POST',
      `/beta/users/${encodeURIComponent(JANE)}/mailFolders/${encodeURIComponent(folder)}/importMime`,
      wrapped,
      {
        'content-type': 'text/plain',
      },
    );
    expect(r.status).toBe(201);
  });
});

describe('POST /v1.0/users/{id}/…/messages', () => {
  it('makes a draft from MIME (the documented problem), received at creation, sent from the MIME Date', async () => {
    const folder = await ensureFolder(sb, t, 'li.wei@brand.example'.replace('li.wei', 'yuki.tanaka'));
    const r = await graph(
      sb,
      t,
      'POST',
      `${u('yuki.tanaka@brand.example')}/mailFolders/${encodeURIComponent(folder)}/messages`,
      eml().toString('base64'),
      {
        'content-type': 'text/plain',
      },
    );
    expect(r.status).toBe(201);
    expect(r.json().isDraft).toBe(true);
    expect(r.json().sentDateTime).toBe('2024-03-04T09:15:02Z');
    expect(Date.parse(r.json().receivedDateTime)).toBeGreaterThan(Date.parse('2025-01-01'));
    const [item] = await sb.items('yuki.tanaka@brand.example');
    expect([item!.createdVia, item!.isDraft]).toEqual(['mime', true]);
  });

  it('saves to Drafts when no folder is given', async () => {
    const r = await graph(sb, t, 'POST', `${u('priya.sharma@brand.example')}/messages`, {
      subject: 'no folder',
    });
    expect(r.status).toBe(201);
    expect((await sb.items('priya.sharma@brand.example', ['Drafts'])).map((i) => i.subject)).toEqual([
      'no folder',
    ]);
  });

  it('makes a draft from JSON unless PR_MESSAGE_FLAGS (Integer 0x0E07) has MSGFLAG_UNSENT clear', async () => {
    const user = 'carlos.garcia@brand.example';
    const folder = await ensureFolder(sb, t, user);
    const path = `${u(user)}/mailFolders/${encodeURIComponent(folder)}/messages`;
    const draft = await graph(sb, t, 'POST', path, { subject: 'draft', isDraft: false });
    expect(draft.json().isDraft).toBe(true);
    const unsent = await graph(sb, t, 'POST', path, {
      subject: 'still draft',
      singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: '9' }],
    });
    expect(unsent.json().isDraft).toBe(true);
    const sent = await graph(sb, t, 'POST', path, {
      subject: 'delivered',
      body: { contentType: 'HTML', content: '<p>Hi</p>' },
      from: { emailAddress: { name: 'Alex', address: 'alex@example.com' } },
      toRecipients: [{ emailAddress: { address: user } }],
      receivedDateTime: '2001-01-01T00:00:00Z',
      internetMessageId: '<ignored@x.invalid>',
      singleValueExtendedProperties: [
        { id: 'Integer 0x0E07', value: '1' },
        { id: 'SystemTime 0x0E06', value: '2024-03-04T09:20:00Z' },
        { id: 'SystemTime 0x0039', value: '2024-03-04T09:15:02Z' },
        { id: 'String 0x1035', value: '<lp.1.json.v1@liveperson-archiver.invalid>' },
      ],
      internetMessageHeaders: [{ name: 'X-LivePerson-Conversation-Id', value: 'abc' }],
      attachments: [
        {
          '@odata.type': '#microsoft.graph.fileAttachment',
          name: 'a.txt',
          contentType: 'text/plain',
          contentBytes: Buffer.from('hello').toString('base64'),
        },
      ],
    });
    expect(sent.status).toBe(201);
    expect(sent.json()).toMatchObject({
      isDraft: false,
      isRead: true,
      receivedDateTime: '2024-03-04T09:20:00Z',
      sentDateTime: '2024-03-04T09:15:02Z',
      internetMessageId: '<lp.1.json.v1@liveperson-archiver.invalid>',
      hasAttachments: true,
      body: { contentType: 'html', content: '<p>Hi</p>' },
    });
    const items = await sb.items(user);
    expect(items.map((i) => [i.subject, i.isDraft, i.createdVia])).toEqual([
      ['draft', true, 'json'],
      ['still draft', true, 'json'],
      ['delivered', false, 'json'],
    ]);
    const rendered = items[2]!.mime.toString('utf8');
    expect(rendered).toMatch(/^Message-ID: <lp\.1\.json\.v1@liveperson-archiver\.invalid>\r$/m);
    // Header names are case-insensitive; the rendering (MailComposer's) normalises their case.
    expect(rendered).toMatch(/^X-LivePerson-Conversation-Id: abc\r$/im);
    expect(items[2]!.attachments.map((a) => [a.name, a.bytes.toString()])).toEqual([['a.txt', 'hello']]);
  });

  it('refuses headers not named x-…, more than 5 headers, bad extended properties and unknown members', async () => {
    const path = `${u('eleni.p@brand.example')}/messages`;
    const cases: Array<[unknown, string]> = [
      [{ internetMessageHeaders: [{ name: 'Message-ID', value: '<a@b>' }] }, 'InvalidInternetMessageHeader'],
      [
        { internetMessageHeaders: Array.from({ length: 6 }, (_, i) => ({ name: `x-h${i}`, value: 'v' })) },
        'InvalidInternetMessageHeaderCollection',
      ],
      [{ internetMessageHeaders: [] }, 'InvalidInternetMessageHeaderCollection'],
      [
        { singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: 'one' }] },
        'ErrorInvalidExtendedPropertyValue',
      ],
      [
        { singleValueExtendedProperties: [{ id: 'SystemTime 0x0E06', value: 'yesterday' }] },
        'ErrorInvalidExtendedPropertyValue',
      ],
      [{ singleValueExtendedProperties: [{ id: 'Flags 0x0E07', value: '1' }] }, 'ErrorInvalidProperty'],
      [{ subject: 'x', mood: 'happy' }, 'RequestBodyRead'],
      [{ attachments: [{ name: 'a', contentBytes: 'aGk=' }] }, 'UnprocessableType'],
    ];
    for (const [body, code] of cases) {
      const r = await graph(sb, t, 'POST', path, body);
      expect(r.json().error?.code, JSON.stringify(body)).toBe(code);
    }
    const five = await graph(sb, t, 'POST', path, {
      internetMessageHeaders: Array.from({ length: 5 }, (_, i) => ({ name: `X-h${i}`, value: 'v' })),
    });
    expect(five.status).toBe(201);
  });
});

describe('GET …/messages?$filter=internetMessageId eq …', () => {
  it('finds an item by its exact internetMessageId in its folder only, with $select', async () => {
    const user = 'fatima.zahra@brand.example';
    const folder = await ensureFolder(sb, t, user);
    const id = "<lp.9.o'brien+1@liveperson-archiver.invalid>";
    expect((await importMime(sb, t, user, folder, eml({ messageId: id }))).status).toBe(201);
    const find = (value: string, where = `mailFolders/${encodeURIComponent(folder)}/`) =>
      graph(
        sb,
        t,
        'GET',
        `${u(user)}/${where}messages?${new URLSearchParams({ $filter: `internetMessageId eq '${value.replace(/'/g, "''")}'`, $select: 'id,internetMessageId,isDraft' })}`,
      );
    const hit = await find(id);
    expect(hit.status).toBe(200);
    expect(hit.json().value).toEqual([expect.objectContaining({ internetMessageId: id, isDraft: false })]);
    expect(Object.keys(hit.json().value[0]).sort()).toEqual([
      '@odata.etag',
      'id',
      'internetMessageId',
      'isDraft',
    ]);
    expect((await find(id, '')).json().value).toHaveLength(1);
    expect((await find(id.toUpperCase())).json().value).toHaveLength(0);
    expect((await find(id, 'mailFolders/inbox/')).json().value).toHaveLength(0);
    // An unencoded '+' in the query is a space, as in Graph: the client must percent-encode it.
    const sloppy = await graph(
      sb,
      t,
      'GET',
      `${u(user)}/messages?$filter=internetMessageId eq '${encodeURIComponent(id.replace(/'/g, "''")).replace('%2B', '+')}'`,
    );
    expect(sloppy.json().value).toHaveLength(0);
    const unsupported = await graph(
      sb,
      t,
      'GET',
      `${u(user)}/messages?${new URLSearchParams({ $filter: `subject eq 'x'` })}`,
    );
    expect(unsupported.status).toBe(400);
  });
});

describe('keepContent: false', () => {
  it('keeps the digest and size of each item, not its bytes, and still writes the mirror in full', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'graph-sandbox-lean-'));
    const lean = await startGraphSandbox({ seed: 42, keepContent: false, mirrorDir: dir });
    try {
      const lt = await token(lean);
      const folder = await ensureFolder(lean, lt, JANE);
      const mime = richEml('<lean@x.invalid>');
      expect((await importMime(lean, lt, JANE, folder, mime)).status).toBe(201);
      const [item] = await lean.items(JANE);
      expect(item!.mime.length).toBe(0);
      expect(item!.size).toBe(mime.length);
      expect(item!.sha256).toBe(createHash('sha256').update(mime).digest('hex'));
      expect((await readFile(join(dir, JANE, 'Inbox', FOLDER, '0001-lean@x.invalid.eml'))).equals(mime)).toBe(
        true,
      );
      const kept = (await sb.items(JANE))[0]!;
      expect(kept.sha256).toBe(createHash('sha256').update(kept.mime).digest('hex'));
    } finally {
      await lean.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('mirror', () => {
  it('writes every stored item under <dir>/<mailbox>/<folder path>/NNNN-<id>.eml, names sanitised', async () => {
    const user = 'zoe.angstrom@brand.example';
    const folder = await ensureFolder(sb, t, user);
    const mime = eml({ messageId: '<../../escape/me@x.invalid>' });
    expect((await importMime(sb, t, user, folder, mime)).status).toBe(201);
    expect((await importMime(sb, t, user, folder, eml({ messageId: '<second@x.invalid>' }))).status).toBe(
      201,
    );
    const dir = join(mirror, user, 'Inbox', FOLDER);
    const files = (await readdir(dir)).sort();
    expect(files).toEqual(['0001-.._.._escape_me@x.invalid.eml', '0002-second@x.invalid.eml']);
    expect((await readFile(join(dir, files[0]!))).equals(mime)).toBe(true);

    for (const [name, dir] of [
      ['..', '_'],
      ['../..', '.._'],
      ['a/b\\c', 'a_b_c'],
    ]) {
      const odd = await graph(sb, t, 'POST', `${u(user)}/mailFolders/inbox/childFolders`, {
        displayName: name,
      });
      expect(odd.status).toBe(201);
      expect(
        (await importMime(sb, t, user, odd.json().id, eml({ messageId: '<odd@x.invalid>' }))).status,
      ).toBe(201);
      expect(await readdir(join(mirror, user, 'Inbox', dir!))).toEqual(['0001-odd@x.invalid.eml']);
    }
    expect((await readdir(mirror)).sort()).toEqual(
      expect.arrayContaining(['jane.doe@brand.example', 'zoe.angstrom@brand.example']),
    );
    expect((await readdir(mirror)).every((d) => d.includes('@'))).toBe(true);
  });
});
