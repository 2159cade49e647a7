import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  FileManifestEntrySchema,
  type HostedFileProvider,
  type HostedFileRef,
} from '../../lib/email/contract.js';
import { ConversionError, contentVersion, convertConversation } from '../../lib/email/convert.js';
import { UsersResponseSchema, usersDirectory } from '../../lib/liveperson/users-schema.js';
import { htmlText, readAll, roundTrip, sha256 } from './eml-assertions.js';
import { pngImage } from './transcript-fixtures.js';

// biome-ignore lint/suspicious/noExplicitAny: fixture records are free-form JSON that the tests edit
type Rec = any;
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/liveperson/messaging-search-response.json', import.meta.url), 'utf8'),
) as { conversationHistoryRecords: Rec[] };
const users = usersDirectory(
  UsersResponseSchema.parse(
    JSON.parse(readFileSync(new URL('../fixtures/liveperson/users.json', import.meta.url), 'utf8')),
  ),
);
const [full, open, legacy] = fixture.conversationHistoryRecords as [Rec, Rec, Rec];
const clone = <T>(x: T): T => structuredClone(x);

const RECEIPT = Buffer.from('fake png bytes \x00\x01\x02 receipt', 'latin1');
const provider: HostedFileProvider = async (ref: HostedFileRef) =>
  ref.relativePath.endsWith('aaaa-1111.PNG')
    ? { status: 'ok', content: Readable.from([RECEIPT]) }
    : { status: 'missing', code: 'not-in-archive', reason: 'HTTP 404 from file store' };

function minimal(messages: unknown[], extra: Record<string, unknown> = {}) {
  return {
    info: {
      conversationId: 'conv-min',
      brandId: '1',
      startTimeL: 1718000000000,
      endTimeL: 1718000100000,
      status: 'CLOSE',
    },
    consumerParticipants: [{ participantId: 'c1', firstName: 'Ann', lastName: 'Lee' }],
    agentParticipants: [{ agentId: 'a1', agentFullName: 'Bob Agent', role: 'AGENT' }],
    messageRecords: messages,
    ...extra,
  };
}
const text = (seq: number, t: string, by = 'Consumer', pid = by === 'Consumer' ? 'c1' : 'a1') => ({
  type: 'TEXT_PLAIN',
  messageData: { msg: { text: t } },
  messageId: `m${seq}`,
  seq,
  timeL: 1718000001000 + seq * 1000,
  participantId: pid,
  sentBy: by,
  audience: 'ALL',
});

describe('convertConversation: the full fixture', () => {
  it('addresses every participant, resolves agents via the users directory (deleted too) and the consumer via SDE', async () => {
    const r = await convertConversation(clone(full), { users, files: provider });
    expect(r.from).toEqual({ name: 'Noa Levi', address: 'noa.levi@example.com' });
    expect(r.to).toEqual([
      { name: 'Maya Cohen', address: 'maya.cohen@brand.example' },
      { name: 'Dana Supervisor', address: 'dana.s@brand.example' },
    ]);
    expect(r.addresses.sort()).toEqual([
      'dana.s@brand.example',
      'maya.cohen@brand.example',
      'noa.levi@example.com',
    ]);
    expect(r.participants.every((p) => !p.synthetic)).toBe(true);
    expect(r.subject).toBe('LivePerson conversation with Noa Levi · Orders · 2024-06-10');
    expect(r.status).toBe('CLOSE');
    expect(r.counts).toEqual({ messages: 10, files: 2, filesAttached: 1, participants: 3 });
    // Plain words by code, naming the file by its display name; the provider's own text is not repeated.
    expect(r.partialReasons).toEqual(["photo: file not in LivePerson's download archive"]);
    expect(r.participants.map((p) => [p.kind, p.role, p.loginName])).toEqual([
      ['consumer', 'CONSUMER', undefined],
      ['agent', 'AGENT', 'maya'],
      ['agent', 'MANAGER', 'old.supervisor'],
    ]);
    // The manifest: every hosted file in message order, attached with size and SHA-256, or missing.
    expect(r.files).toEqual([
      {
        name: 'receipt.png',
        contentType: 'image/png',
        size: RECEIPT.length,
        sha256: sha256(RECEIPT),
        messageId: full.messageRecords[2].messageId,
        sentAt: full.messageRecords[2].timeL,
        status: 'attached',
        inline: false,
      },
      {
        name: 'photo',
        contentType: 'image/jpeg',
        messageId: full.messageRecords[3].messageId,
        sentAt: full.messageRecords[3].timeL,
        status: 'missing',
        code: 'not-in-archive',
        reason: "file not in LivePerson's download archive",
        inline: false,
      },
    ]);
    for (const f of r.files) FileManifestEntrySchema.parse(f);
    // Something is missing: the item key and the Message-ID carry the same .partial-<h> suffix.
    expect(r.itemKey).toMatch(new RegExp(`^${r.version}\\.partial-[0-9a-f]{8}$`));
    expect(r.messageId).toContain(`.${r.itemKey.slice(-16)}@`);

    const preview = Buffer.from(full.messageRecords[3].messageData.file.preview, 'base64');
    const {
      eml,
      mail,
      text: body,
      html,
    } = await roundTrip(r, { 'receipt.png': RECEIPT, 'preview-photo.png': preview });
    const head = eml.subarray(0, eml.indexOf('\r\n\r\n')).toString('latin1');
    expect(head).toMatch(/^X-Liveperson-Conversation-ID: 7c2e41aa-1f00-4d1b-9e55-0b6a2c9d8e01\r$/m);
    expect(head).toMatch(/^X-Liveperson-Partial: photo: file not in LivePerson's download archive\r$/m);
    // Long single tokens stay on their header line (no empty first line).
    expect(head).toContain(`\r\nMessage-ID: ${r.messageId}\r\n`);
    expect(head).toContain(`\r\nX-Liveperson-Content-Version: ${r.version}\r\n`);
    expect(mail.headers.get('x-liveperson-content-version')).toBe(r.version);
    expect(mail.headers.get('x-liveperson-skill')).toBe('Orders');
    expect(mail.headers.get('x-liveperson-channel')).toBe('APP / MOBILE');
    expect(mail.messageId).toBe(r.messageId);
    expect(mail.date?.getTime()).toBe(full.info.startTimeL);
    expect(mail.subject).toBe(r.subject);
    expect(mail.attachments.map((a) => a.filename)).toEqual([
      'receipt.png',
      'preview-photo.png',
      'conversation-7c2e41aa-1f00-4d1b-9e55-0b6a2c9d8e01.json',
    ]);
    // The preview (a real PNG) is shown inline by Content-ID and is still a named attachment.
    const shown = mail.attachments[1];
    expect(shown?.contentDisposition).toBe('attachment');
    expect(html).toContain(`src="cid:${shown?.cid}"`);
    // Structure: mixed > [alternative(plain, html), attachments…]
    expect(head).toMatch(/Content-Type: multipart\/mixed/);
    expect(eml.toString('latin1')).toMatch(/Content-Type: multipart\/alternative/);

    for (const m of full.messageRecords) {
      const t = m.messageData.msg?.text;
      if (t === undefined) continue;
      expect(body).toContain(t);
      expect(htmlText(html)).toContain(t);
    }
    // Unicode / RTL / emoji intact; RTL-capable markup.
    expect(body).toContain('שלום, where is my order? 📦');
    expect(html).toContain('dir="auto"');
    // HTML from the conversation is escaped, never active.
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>Let me check</b>');
    expect(html).toContain('&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;');
    expect(html).not.toMatch(/href="javascript:/i);
    expect(html).toContain('<a href="https://track.example.com/1234">');
    // Private messages, rich content, quick replies, bad rich JSON, files, surveys, transfers, summary.
    expect(body).toMatch(
      /#5 \[2024-06-10 06:14:20 UTC\] Dana Supervisor \(manager\) \[private: agents and managers only\]:\nSupervisor note/,
    );
    expect(body).toContain('text: Your order #1234 has shipped');
    expect(body).toContain('button: Track parcel');
    expect(body).toContain('link: Track <https://track.example.com/1234>');
    expect(body).toContain('image: Parcel photo <https://img.example.com/p.png>');
    expect(body).toContain('[quick replies]');
    expect(body).toContain('[quick replies]\n  button: Yes\n  button: No\n');
    expect(body).toContain('raw: {not json <i>');
    expect(html).toContain('raw: {not json &lt;i&gt;');
    expect(body).toContain('[file] receipt.png, PNG: attached as receipt.png, 26 bytes');
    expect(body).toContain(
      "[file] photo, JPG: not retrieved: file not in LivePerson's download archive; preview attached as preview-photo.png",
    );
    // The file list: size, SHA-256 and the message each file came from; the source record; the end.
    expect(body).toContain(
      `Files (2):\n  1. receipt.png: image/png, 26 bytes\n     SHA-256 ${sha256(RECEIPT)}\n     from message #3, 2024-06-10 06:13:45 UTC, Noa Levi (consumer)\n`,
    );
    expect(body).toContain("  2. photo: not retrieved: file not in LivePerson's download archive\n");
    expect(body).toContain(`version: ${r.version})`);
    expect(body.trimEnd().endsWith('End of conversation · 10 messages · 2 files (1 not retrieved)')).toBe(
      true,
    );
    expect(html).toContain('End of conversation · 10 messages · 2 files (1 not retrieved)');
    expect(html).toContain('<b><bdi>Noa Levi</bdi></b>');
    expect(html).toContain(`SHA-256 ${sha256(RECEIPT)}`);
    expect(body).toContain('[post-conversation survey]');
    expect(body).toContain('Q: How would you rate us? A: 5');
    expect(body).toContain('Agent survey: Wrap-up, SUBMITTED (by Maya Cohen)');
    expect(body).toContain('Q: Issue resolved? A: Yes');
    expect(body).toContain('system: transfer: Unassigned -> Orders (skill Orders), reason Skill --');
    expect(body).toContain('Order delayed, tracking link sent');
    expect(body).toContain('Close reason: CONSUMER / CLOSE_BUTTON');
    expect(body).toContain('deleted user');
    // Messages in order of time, then seq: the two at the same instant keep seq order.
    expect(body.indexOf('Anything else?')).toBeLessThan(body.indexOf('{not json'));
    expect(body.indexOf('Anything else?')).toBeGreaterThan(body.indexOf('Supervisor note'));
    // The source record survives whole, unknown fields included; its SHA-256 is the version.
    expect(JSON.parse(r.sourceJson.toString('utf8'))).toEqual(full);
    expect(sha256(r.sourceJson)).toBe(r.version);
  });

  it('without users or a provider: synthetic agent addresses, every file not retrieved', async () => {
    const r = await convertConversation(clone(full));
    expect(r.to.map((t) => t.address)).toEqual([
      'agent-4100000001@liveperson.invalid',
      'agent-4100000002@liveperson.invalid',
    ]);
    // No placeholder names: the deleted manager's full name is "undefined", the nickname is used.
    expect(r.to[1]?.name).toBe('Sup');
    expect(r.counts.filesAttached).toBe(0);
    expect(r.partialReasons).toEqual([
      'receipt.png: files are not fetched in this conversion (offline)',
      'photo: files are not fetched in this conversion (offline)',
    ]);
    expect(r.files.map((f) => f.code)).toEqual(['no-provider', 'no-provider']);
    const { mail } = await roundTrip(r);
    expect(mail.attachments.map((a) => a.filename)).toContain('preview-photo.png');
  });

  it('honours the configured synthetic address domain and Message-ID domain', async () => {
    const r = await convertConversation(clone(full), {
      addressDomain: 'archive.example.net',
      messageIdDomain: 'ids.example.net',
    });
    expect(r.to[0]?.address).toBe('agent-4100000001@archive.example.net');
    expect(r.messageId).toMatch(
      /^<lp\.87654321\.7c2e41aa-1f00-4d1b-9e55-0b6a2c9d8e01\.[0-9a-f]{16}\.partial-[0-9a-f]{8}@ids\.example\.net>$/,
    );
    await expect(convertConversation(clone(full), { addressDomain: 'bad domain\r\nX: y' })).rejects.toThrow(
      /addressDomain/,
    );
  });

  it('an open conversation with a bot: no end time, placeholders read as absent', async () => {
    const r = await convertConversation(clone(open), { users });
    expect(r.status).toBe('OPEN');
    expect(r.endTime).toBeUndefined();
    expect(r.from).toEqual({ name: 'Helper Bot', address: 'agent-4100000009@liveperson.invalid' });
    expect(r.to).toEqual([{ name: 'Consumer', address: 'sam@example.org' }]);
    // LivePerson's role stays AGENT; the kind says bot, and the transcript says so too.
    expect(r.participants.find((p) => p.id === '4100000009')).toMatchObject({ role: 'AGENT', kind: 'bot' });
    expect(r.subject).toBe('LivePerson conversation with Consumer · 2024-06-10 (open)');
    const { text: body, mail } = await roundTrip(r);
    expect(body).toContain('Ended: still open');
    expect(body).toMatch(/\] Helper Bot \(bot\):\n/);
    expect(body).not.toMatch(/undefined/);
    expect(mail.headers.get('x-liveperson-skill')).toBeUndefined();
  });

  it('older singular spellings, string epochs and a conversation without messages', async () => {
    const r = await convertConversation(clone(legacy));
    expect(r.counts.messages).toBe(0);
    expect(r.from).toEqual({
      name: 'Ann Lee',
      address: 'consumer-f0f0f0f0-1111-4222-8333-999999999999@liveperson.invalid',
    });
    expect(r.to).toEqual([r.from]);
    expect(r.startTime.toISOString()).toBe('2024-06-11T12:00:00.000Z');
    expect(r.endTime?.getTime()).toBe(1718107300000);
    const { text: body } = await roundTrip(r);
    expect(body).toContain('Messages (0):');
  });
});

describe('determinism', () => {
  it('same record (any key order) → same version, Message-ID and bytes; a change → a new version', async () => {
    const a = await convertConversation(clone(full), { users });
    const reordered = Object.fromEntries(Object.entries(clone(full)).reverse());
    reordered.info = Object.fromEntries(Object.entries(full.info).reverse());
    const b = await convertConversation(reordered, { users });
    expect(b.version).toBe(a.version);
    expect(b.messageId).toBe(a.messageId);
    expect(contentVersion(reordered)).toBe(a.version);
    const again = await convertConversation(clone(full), { users });
    expect((await readAll(again.eml)).equals(await readAll(a.eml))).toBe(true);
    await readAll(b.eml);

    const changed = clone(full);
    changed.messageRecords[0].messageData.msg.text += '!';
    const c = await convertConversation(changed, { users });
    expect(c.version).not.toBe(a.version);
    expect(c.messageId).not.toBe(a.messageId);
    await readAll(c.eml);
  });
});

describe('validation errors name the record and the field', () => {
  it('a bad message time', async () => {
    const rec = clone(full);
    rec.messageRecords[3].timeL = 'yesterday';
    const err = await convertConversation(rec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConversionError);
    expect((err as ConversionError).conversationId).toBe(full.info.conversationId);
    expect((err as ConversionError).field).toBe('messageRecords[3].timeL');
    expect((err as Error).message).toMatch(
      /^conversation 7c2e41aa-.*: messageRecords\[3\]\.timeL: expected number/,
    );
  });

  it('a missing conversation id is named by position', async () => {
    const rec = clone(legacy);
    delete rec.info.conversationId;
    const err = (await convertConversation(rec, { recordIndex: 4 }).catch(
      (e: unknown) => e,
    )) as ConversionError;
    expect(err).toBeInstanceOf(ConversionError);
    expect(err.field).toBe('info.conversationId');
    expect(err.message).toMatch(/^record #4 \(no conversation id\): info\.conversationId/);
  });

  it('a missing start time, and a record that is not an object', async () => {
    const rec = clone(legacy);
    delete rec.info.startTime;
    const err = (await convertConversation(rec).catch((e: unknown) => e)) as ConversionError;
    expect(err.field).toBe('info.startTimeL');
    expect(err.message).toContain('start time is required');
    const err2 = (await convertConversation('nonsense').catch((e: unknown) => e)) as ConversionError;
    expect(err2).toBeInstanceOf(ConversionError);
    expect(err2.field).toBe('(record)');
  });
});

describe('edge cases', () => {
  it('CR/LF and control characters in names, skill and captions cannot inject headers', async () => {
    const rec = minimal(
      [
        text(0, 'hi'),
        {
          ...text(1, ''),
          messageData: { file: { relativePath: '/x', fileType: 'PNG', caption: 'a\r\nX-Evil: 1.png' } },
        },
      ],
      {
        consumerParticipants: [
          { participantId: 'c1', firstName: 'Eve\r\nBcc: victim@example.com', lastName: '\u0000Mallory' },
        ],
      },
    );
    (rec.info as Record<string, unknown>).latestSkillName = 'Sales\r\nX-Injected: yes';
    const r = await convertConversation(rec, {
      files: async () => ({ status: 'ok', content: Buffer.from('x') }),
    });
    const { eml, mail } = await roundTrip(r);
    const head = eml.subarray(0, eml.indexOf('\r\n\r\n')).toString('latin1');
    expect(head).not.toMatch(/^Bcc:/im);
    expect(head).not.toMatch(/^X-Injected:/im);
    expect(head).not.toMatch(/^X-Evil:/im);
    expect(mail.bcc).toBeUndefined();
    expect(mail.from?.value[0]?.name).toBe('Eve Bcc: victim@example.com Mallory');
    expect(mail.attachments[0]?.filename).toBe('a X-Evil_ 1.png');
  });

  it('very long unbroken names and skills are clipped so no header line exceeds 998 octets', async () => {
    const rec = minimal([text(0, 'hi')], {
      consumerParticipants: [{ participantId: 'c1', firstName: 'N'.repeat(3000) }],
    });
    (rec.info as Record<string, unknown>).latestSkillName = 'S'.repeat(3000);
    const r = await convertConversation(rec);
    expect(r.from.name).toHaveLength(120);
    expect(r.from.name.endsWith('…')).toBe(true);
    await roundTrip(r);
    const tooLong = minimal([]);
    tooLong.info.conversationId = 'i'.repeat(300);
    await expect(convertConversation(tooLong)).rejects.toThrow(
      /info\.conversationId: conversation id is longer than 256/,
    );
  });

  it('null containers read as absent; a numeric message text is kept as text', async () => {
    const rec = minimal([{ ...text(0, ''), messageData: { msg: { text: 5 } } }], {
      transfers: null,
      dialogs: null,
      conversationSurveys: [{ surveyType: 'CSAT', surveyData: null }],
      sdes: { events: null },
      agentParticipants: null,
    });
    const r = await convertConversation(rec);
    const { text: body } = await roundTrip(r);
    expect(body).toMatch(/\(consumer\):\n5\n/);
    expect(body).toContain('Survey: CSAT');
  });

  it('placeholder and invalid consumer emails are not trusted', async () => {
    const rec = minimal([text(0, 'hi')], {
      consumerParticipants: [{ participantId: 'c 1/ü', firstName: 'null', email: 'not-an-email' }],
    });
    rec.messageRecords[0] = text(0, 'hi', 'Consumer', 'c 1/ü');
    const r = await convertConversation(rec);
    expect(r.from).toEqual({
      name: 'Consumer',
      address: 'consumer-c-1-@liveperson.invalid'.replace('-@', '@'),
    });
  });

  it('1,000+ messages in order, all present', async () => {
    const msgs = Array.from({ length: 1200 }, (_, i) =>
      text(i, `message number ${i} ✓`, i % 2 ? 'Agent' : 'Consumer'),
    );
    const r = await convertConversation(minimal(msgs.reverse()));
    expect(r.counts.messages).toBe(1200);
    const { text: body } = await roundTrip(r);
    let last = -1;
    for (let i = 0; i < 1200; i++) {
      const at = body.indexOf(`message number ${i} ✓\n`);
      expect(at).toBeGreaterThan(last);
      last = at;
    }
  });

  it('long unbroken lines and message text are kept whole (lines ≤ 998 in the message)', async () => {
    const long = 'x'.repeat(5000);
    const r = await convertConversation(minimal([text(0, long), text(1, `a\r\nb\rc\u0007d\te`)]));
    const { text: body, html } = await roundTrip(r);
    expect(body).toContain(long);
    expect(body).toContain('a\nb\ncd\te');
    expect(htmlText(html)).toContain('a\nb\ncd\te');
  });

  it('streams and buffers are attached whole; a provider that throws fails the conversion (retried later)', async () => {
    const big = Buffer.alloc(300_000, 7);
    const rec = minimal([
      { ...text(0, ''), messageData: { file: { relativePath: '/a', fileType: 'PDF', caption: 'doc' } } },
      { ...text(1, ''), messageData: { file: { relativePath: '/b', fileType: 'PDF', caption: 'doc.pdf' } } },
      { ...text(2, ''), messageData: { file: { relativePath: '/c', fileType: 'TXT', caption: 'c' } } },
    ]);
    const tempDir = await mkdtemp(join(tmpdir(), 'lp-spool-test-'));
    try {
      const r = await convertConversation(rec, {
        tempDir,
        files: async (ref) =>
          ref.relativePath === '/c'
            ? { status: 'ok', content: Buffer.from('c') }
            : { status: 'ok', content: Readable.from([big.subarray(0, 100_000), big.subarray(100_000)]) },
      });
      expect(r.partialReasons).toEqual([]);
      expect(r.itemKey).toBe(r.version);
      expect(r.files.map((f) => [f.name, f.size, f.sha256])).toEqual([
        ['doc.pdf', big.length, sha256(big)],
        ['doc (2).pdf', big.length, sha256(big)],
        ['c.txt', 1, sha256(Buffer.from('c'))],
      ]);
      // Spooled files are unlinked as soon as they are open: nothing is left behind.
      expect(await readdir(tempDir)).toEqual([]);
      const { mail } = await roundTrip(r, { 'doc.pdf': big, 'doc (2).pdf': big });
      expect(mail.attachments.find((a) => a.filename === 'doc.pdf')?.contentType).toBe('application/pdf');

      let asked = 0;
      const failing = convertConversation(rec, {
        tempDir,
        files: async (ref) => {
          asked++;
          if (ref.relativePath === '/c') throw new Error('connection reset');
          return { status: 'ok', content: Readable.from([big]) };
        },
      });
      await expect(failing).rejects.toThrow('connection reset');
      expect(asked).toBe(3);
      expect(await readdir(tempDir)).toEqual([]);
    } finally {
      await rm(tempDir, { recursive: true, force: true });
    }
  });

  it('a file failing while more files wait for a fetch slot fails the conversion (never hangs)', async () => {
    const files = Array.from({ length: 9 }, (_, i) => ({
      ...text(i, ''),
      messageData: { file: { relativePath: `/f${i}`, fileType: 'TXT', caption: `f${i}.txt` } },
    }));
    let asked = 0;
    const failing = convertConversation(minimal(files), {
      files: async () => {
        asked++;
        await new Promise((r) => setTimeout(r, 5));
        throw new Error('503 for now');
      },
    });
    // Before the fix, the jobs still queued behind the fetch limit never settled and this never ended.
    const outcome = await Promise.race([
      failing.then(
        () => 'converted',
        (e: Error) => e.message,
      ),
      new Promise((r) => setTimeout(() => r('still pending after 5 s'), 5000)),
    ]);
    expect(outcome).toBe('503 for now');
    expect(asked).toBeLessThanOrEqual(4);
  });

  it('a file stream that fails mid-way fails the conversion (never a silently truncated item)', async () => {
    const rec = minimal([
      { ...text(0, ''), messageData: { file: { relativePath: '/a', fileType: 'PDF', caption: 'a.pdf' } } },
    ]);
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1024, 1));
        this.destroy(new Error('socket hang up'));
      },
    });
    const tempDir = await mkdtemp(join(tmpdir(), 'lp-spool-test-'));
    try {
      await expect(
        convertConversation(rec, { tempDir, files: async () => ({ status: 'ok', content: failing }) }),
      ).rejects.toThrow(/socket hang up/);
      expect(await readdir(tempDir)).toEqual([]);
    } finally {
      await rm(tempDir, { recursive: true, force: true });
    }
  });

  it('secure forms, links and unknown types are shown tolerantly', async () => {
    const r = await convertConversation(
      minimal([
        {
          ...text(0, ''),
          type: 'SECURE_FORM_INVITATION',
          messageData: { secureForm: { formId: 'f1', formName: 'Card <details>' } },
        },
        {
          ...text(1, ''),
          type: 'LINK',
          messageData: { link: { externalFileLink: 'javascript:evil()', caption: 'click' } },
        },
      ]),
    );
    const { text: body, html } = await roundTrip(r);
    expect(body).toContain(
      '[SECURE_FORM_INVITATION] {"secureForm":{"formId":"f1","formName":"Card <details>"}}',
    );
    expect(body).toContain('link: click <javascript:evil()>');
    expect(html).not.toContain('href="javascript');
    expect(html).toContain('Card &lt;details&gt;');
  });
});

describe('hosted files: what is missing, and the item key', () => {
  const withFiles = () =>
    minimal([
      text(0, 'files follow'),
      {
        ...text(1, ''),
        messageData: { file: { relativePath: '/f/1.png', fileType: 'PNG', caption: 'one.png' } },
      },
      {
        ...text(2, ''),
        messageData: { file: { relativePath: '/f/2.png', fileType: 'PNG', caption: 'two.png' } },
      },
      {
        ...text(3, ''),
        messageData: {
          file: { relativePath: '/f/3.png', fileType: 'PNG', caption: '** LP deleted data **' },
        },
      },
    ]);
  const answer =
    (missing: Record<string, 'not-in-archive' | 'too-large'>): HostedFileProvider =>
    async (ref) => {
      const code = missing[ref.relativePath];
      return code
        ? { status: 'missing', code, reason: `internal detail for ${ref.relativePath} (request 123)` }
        : { status: 'ok', content: Buffer.from(ref.relativePath) };
    };

  it("LivePerson's deletion marker is deleted-at-source without asking the provider", async () => {
    const asked: string[] = [];
    const r = await convertConversation(withFiles(), {
      files: async (ref) => {
        asked.push(ref.relativePath);
        return { status: 'ok', content: Buffer.from('x') };
      },
    });
    expect(asked).toEqual(['/f/1.png', '/f/2.png']);
    expect(r.files[2]).toMatchObject({
      status: 'missing',
      code: 'deleted-at-source',
      name: '** LP deleted data **',
    });
    // No caption left to name it by: the status log says where it was.
    expect(r.partialReasons).toEqual(['file in message #4: file removed at LivePerson (privacy deletion)']);
    // No internal identifiers in what the status log shows.
    expect(JSON.stringify(r.files)).not.toContain('request 123');
  });

  it('the same missing set gives the same item; a different set or a complete fetch another', async () => {
    const a = await convertConversation(withFiles(), { files: answer({ '/f/2.png': 'not-in-archive' }) });
    const again = await convertConversation(withFiles(), { files: answer({ '/f/2.png': 'not-in-archive' }) });
    const other = await convertConversation(withFiles(), { files: answer({ '/f/2.png': 'too-large' }) });
    const more = await convertConversation(withFiles(), {
      files: answer({ '/f/1.png': 'not-in-archive', '/f/2.png': 'not-in-archive' }),
    });
    for (const r of [a, again, other, more]) {
      expect(r.version).toBe(a.version);
      await readAll(r.eml);
    }
    expect(again.itemKey).toBe(a.itemKey);
    expect(again.messageId).toBe(a.messageId);
    expect(new Set([a.itemKey, other.itemKey, more.itemKey]).size).toBe(3);
    // h covers exactly the sorted (messageId, relativePath, code) of the missing files.
    const h = (list: string[][]) =>
      sha256(
        Buffer.from(
          `[${list
            .map((x) => JSON.stringify(x))
            .sort()
            .join(',')}]`,
        ),
      ).slice(0, 8);
    expect(a.itemKey).toBe(
      `${a.version}.partial-${h([
        ['m2', '/f/2.png', 'not-in-archive'],
        ['m3', '/f/3.png', 'deleted-at-source'],
      ])}`,
    );
    expect(a.messageId).toBe(
      `<lp.1.conv-min.${a.version.slice(0, 16)}.partial-${a.itemKey.split('-').pop()}@liveperson-archiver.invalid>`,
    );
    const complete = await convertConversation(minimal([text(0, 'no files')]), { files: answer({}) });
    expect(complete.itemKey).toBe(complete.version);
    expect(complete.messageId).not.toContain('partial');
    await readAll(complete.eml);
  });
});

describe('identifiers are never altered', () => {
  it('" same-id" and "same-id" are different conversations, each reported exactly', async () => {
    const plain = minimal([text(0, 'hi')]);
    plain.info.conversationId = 'same-id';
    const spaced = minimal([text(0, 'hi')]);
    spaced.info.conversationId = ' same-id';
    const a = await convertConversation(plain);
    const b = await convertConversation(spaced);
    expect(a.conversationId).toBe('same-id');
    expect(b.conversationId).toBe(' same-id');
    expect(b.version).not.toBe(a.version);
    const { mail } = await roundTrip(b);
    expect(mail.headers.get('x-liveperson-conversation-id')).toBe('same-id');
    await readAll(a.eml);
  });
});

describe('names in headers', () => {
  const arabic = 'فاتورة الكهرباء لشهر مارس.png';
  const rec = () =>
    minimal(
      [
        text(0, 'hi', 'Agent'),
        { ...text(1, ''), messageData: { file: { relativePath: '/x', fileType: 'PNG', caption: arabic } } },
        {
          ...text(2, ''),
          messageData: { file: { relativePath: '/y', fileType: 'PDF', caption: 'スクリーンショット' } },
        },
      ],
      { agentParticipants: [{ agentId: 'a1', agentFullName: 'Ελένη Παπαδοπούλου', role: 'AGENT' }] },
    );

  it('file names use RFC 2231 with an ASCII fallback, never an encoded-word in quotes', async () => {
    const r = await convertConversation(rec(), {
      files: async () => ({ status: 'ok', content: Buffer.from('x') }),
    });
    const { eml, mail } = await roundTrip(r);
    const raw = eml.toString('latin1');
    expect(raw).not.toMatch(/name="=\?/);
    expect(raw).toMatch(/Content-Disposition: attachment;\r\n filename\*0\*=utf-8''%D9%81/);
    expect(raw).toContain('Content-Type: image/png;\r\n name=attachment-1.png\r\n');
    expect(mail.attachments.map((a) => a.filename)).toEqual([
      arabic,
      'スクリーンショット.pdf',
      'conversation-conv-min.json',
    ]);
  });

  it('a display name is one encoded-word, never cut inside a word', async () => {
    const r = await convertConversation(rec());
    const { eml, mail } = await roundTrip(r);
    const head = eml.subarray(0, eml.indexOf('\r\n\r\n')).toString('latin1');
    const from = /^From: (.*(?:\r\n .*)*)/m.exec(head)?.[1] ?? '';
    expect(from.match(/=\?UTF-8\?B\?/g)).toHaveLength(1);
    expect(mail.from?.value[0]?.name).toBe('Ελένη Παπαδοπούλου');
  });
});

describe('inline images', () => {
  it('a real image is shown through its Content-ID and stays a named attachment', async () => {
    const png = pngImage(64, 48);
    const r = await convertConversation(
      minimal([
        {
          ...text(0, ''),
          messageData: { file: { relativePath: '/p', fileType: 'JPG', caption: 'scan.jpg' } },
        },
      ]),
      { files: async () => ({ status: 'ok', content: Readable.from([png]) }) },
    );
    // The bytes decide: a PNG is image/png whatever LivePerson called it.
    expect(r.files[0]).toMatchObject({
      name: 'scan.jpg',
      contentType: 'image/png',
      inline: true,
      size: png.length,
    });
    const { mail, html } = await roundTrip(r, { 'scan.jpg': png });
    const att = mail.attachments.find((a) => a.filename === 'scan.jpg');
    expect(att?.contentDisposition).toBe('attachment');
    expect(att?.cid).toMatch(/^image-1\.[0-9a-f]{16}@liveperson-archiver\.invalid$/);
    expect(html).toContain(`<img src="cid:${att?.cid}" alt="scan.jpg" width="64"`);
    // Images on the web are never loaded: they stay links.
    expect(html).not.toMatch(/<img[^>]+src="https?:/);
  });
});

describe('canonicalJson', () => {
  it('equals JSON.stringify of the key-sorted value, at every level', async () => {
    const { canonicalJson } = await import('../../lib/email/convert.js');
    const v = { b: [3, { z: 1, a: [null, 'x'] }], a: { d: undefined, c: 'é"\n' }, n: -0.5, t: true };
    expect(canonicalJson(v)).toBe('{"a":{"c":"é\\"\\n"},"b":[3,{"a":[null,"x"],"z":1}],"n":-0.5,"t":true}');
    expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
    expect(canonicalJson([undefined])).toBe('[null]');
  });
});
