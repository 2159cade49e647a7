/**
 * Every item must parse with Python's email package (policy.default: what eDiscovery tooling commonly
 * uses) with zero defects, on the message, every part and every header, and show the names we wrote.
 * The checker itself is shown to catch the three faults of issue 9 on deliberately broken messages.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox } from '../../dev/sandbox/index.js';
import { runExport } from '../../lib/cli/export.js';
import { type ConversionResult, convertConversation } from '../../lib/email/convert.js';
import { UsersResponseSchema, usersDirectory } from '../../lib/liveperson/users-schema.js';
import { type PythonEmailReport, pythonEmailCheck } from '../harness/python-email.js';
import { readAll, sha256 } from './eml-assertions.js';
import { imageProvider, longConversation, pngImage, rtlConversation } from './transcript-fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lp-python-email-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let written = 0;
async function save(eml: Buffer | Readable): Promise<string> {
  const path = join(dir, `m${written++}.eml`);
  await writeFile(path, Buffer.isBuffer(eml) ? eml : await readAll(eml));
  return path;
}

/** The message the converter wrote before issue 9, for the parts that were wrong: MailComposer's defaults. */
function composerDefaults(opts: { from?: string; filename?: string; messageId?: string }): Readable {
  return new MailComposer({
    from: { name: opts.from ?? 'Ann Lee', address: 'ann@example.com' },
    to: 'bob@example.com',
    subject: 'test',
    messageId: opts.messageId ?? '<short@example.com>',
    date: new Date(0),
    text: 'hello',
    textEncoding: 'B',
    attachments: opts.filename ? [{ filename: opts.filename, content: Buffer.from('x') }] : [],
  })
    .compile()
    .createReadStream();
}

const clean = (r: PythonEmailReport) => ({ file: r.file, defects: r.defects, problems: r.problems });

describe('the checker catches what issue 9 found', () => {
  it('1: a non-ASCII attachment name written as an encoded-word inside quotes', async () => {
    const [bad] = await pythonEmailCheck([
      await save(composerDefaults({ filename: 'スクリーンショット.png' })),
    ]);
    expect(bad?.defects.join('\n')).toMatch(/InvalidHeaderDefect .*header Content-Type/);
  });

  it('2: a display name split inside a word across two encoded-words', async () => {
    const name = 'Ελένη Παπαδοπούλου';
    const [bad] = await pythonEmailCheck([await save(composerDefaults({ from: name }))]);
    expect(bad?.from[0]?.name).not.toBe(name); // Python shows "Ελένη Παπαδοπού λου"
    expect(bad?.from[0]?.name.replace(/\s/g, '')).toBe(name.replace(/\s/g, ''));
    const ours = await convertConversation({
      info: { conversationId: 'c', startTimeL: 1718000000000 },
      agentParticipants: [{ agentId: 'a', agentFullName: name }],
      messageRecords: [
        { participantId: 'a', sentBy: 'Agent', timeL: 1718000001000, messageData: { msg: { text: 'hi' } } },
      ],
    });
    const [good] = await pythonEmailCheck([await save(ours.eml)]);
    expect(good?.from[0]?.name).toBe(name);
  });

  it('3: Message-ID folded with an empty first line', async () => {
    const long = `<lp.12345678.${'e8b853d3-1e2c-4e39-a255-a199bbc5ae99'}.62406d509aca7d4f@liveperson-archiver.invalid>`;
    const [bad] = await pythonEmailCheck([await save(composerDefaults({ messageId: long }))]);
    expect(bad?.problems).toEqual(['message, header Message-ID: folded with an empty first line']);
    expect(bad?.messageId.trim()).toBe(long);
  });
});

const fixtureRecords = (
  JSON.parse(
    readFileSync(new URL('../fixtures/liveperson/messaging-search-response.json', import.meta.url), 'utf8'),
  ) as { conversationHistoryRecords: unknown[] }
).conversationHistoryRecords;
const users = usersDirectory(
  UsersResponseSchema.parse(
    JSON.parse(readFileSync(new URL('../fixtures/liveperson/users.json', import.meta.url), 'utf8')),
  ),
);

describe('our items: zero defects in Python', () => {
  it('the test fixtures and the transcript fixtures, with files under non-ASCII names', async () => {
    const records = [...fixtureRecords, longConversation(), rtlConversation()];
    const results: ConversionResult[] = [];
    const paths: string[] = [];
    for (const record of records) {
      const r = await convertConversation(structuredClone(record), {
        users,
        files: async (ref) =>
          ref.relativePath.endsWith('.PNG') || ref.relativePath.endsWith('.JPG')
            ? { status: 'ok', content: Readable.from([pngImage(8, 8)]) }
            : imageProvider(ref),
      });
      results.push(r);
      paths.push(await save(r.eml));
    }
    const reports = await pythonEmailCheck(paths);
    expect(reports.map(clean)).toEqual(paths.map((file) => ({ file, defects: [], problems: [] })));
    reports.forEach((report, i) => {
      const r = results[i] as ConversionResult;
      expect(report.from).toEqual([r.from]);
      expect(report.to).toEqual(r.to);
      expect(report.subject).toBe(r.subject);
      expect(report.messageId).toBe(r.messageId);
      expect(report.contentVersion).toBe(r.version);
      const attached = r.files.filter((f) => f.status === 'attached');
      expect(report.attachments.filter((a) => attached.some((f) => f.name === a.filename))).toHaveLength(
        attached.length,
      );
      for (const f of attached) {
        expect(report.attachments.find((a) => a.filename === f.name)?.sha256).toBe(f.sha256);
      }
      const source = report.attachments.at(-1);
      expect(source?.sha256).toBe(r.version);
    });
  });

  it('arbitrary text in names, skills and captions', async () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 50 }),
      fc.string({ unit: 'grapheme', maxLength: 50 }),
      fc.constantFrom(
        '=?utf-8?B?PHNjcmlwdD4=?=',
        'Ελένη Παπαδοπούλου Καραγιαννοπούλου',
        '"a" <b>',
        'x'.repeat(300),
      ),
    );
    const samples = fc.sample(
      fc.record({ first: text, last: text, agent: text, skill: text, caption: text }),
      {
        numRuns: 40,
        seed: 9,
      },
    );
    const paths: string[] = [];
    for (const [i, s] of samples.entries()) {
      const r = await convertConversation(
        {
          info: { conversationId: `prop-${i}`, startTimeL: 1718000000000, latestSkillName: s.skill },
          consumerParticipants: [{ participantId: 'c', firstName: s.first, lastName: s.last }],
          agentParticipants: [{ agentId: 'a', agentFullName: s.agent }],
          messageRecords: [
            {
              participantId: 'c',
              sentBy: 'Consumer',
              timeL: 1718000001000,
              messageData: { msg: { text: s.first } },
            },
            {
              participantId: 'a',
              sentBy: 'Agent',
              timeL: 1718000002000,
              messageData: { file: { relativePath: '/f', fileType: 'PDF', caption: s.caption } },
            },
          ],
        },
        { files: async () => ({ status: 'ok', content: Buffer.from('%PDF') }) },
      );
      paths.push(await save(r.eml));
    }
    const reports = await pythonEmailCheck(paths);
    expect(reports.map(clean)).toEqual(paths.map((file) => ({ file, defects: [], problems: [] })));
  });

  it('the sandbox (120 conversations, seed 1) exported through the real client and converter', async () => {
    const sb = await startSandbox({ conversations: 120, seed: 1, fileSizes: { min: 200, max: 4000 } });
    const out = join(dir, 'sandbox');
    try {
      const now = sb.clock.now();
      const stderr = new PassThrough();
      const stdout = new PassThrough();
      stdout.resume();
      stderr.resume();
      const code = await runExport(
        [
          '--from',
          new Date(now - 60 * 86_400_000).toISOString(),
          '--to',
          new Date(now + 86_400_000).toISOString(),
          '--out',
          out,
        ],
        { ...sb.env, LP_FILES_POLL_MS: '1' },
        { stdout, stderr },
      );
      expect(code).toBe(0);
    } finally {
      await sb.stop();
    }
    const paths = (await readdir(out)).sort().map((f) => join(out, f));
    expect(paths).toHaveLength(120);
    const reports = await pythonEmailCheck(paths);
    expect(reports.map(clean)).toEqual(paths.map((file) => ({ file, defects: [], problems: [] })));
    // Two parsers that share no code read the same names and files.
    for (const report of reports) {
      const mail = await simpleParser(readFileSync(report.file), {
        skipTextToHtml: true,
        skipImageLinks: true,
      });
      expect(report.from.map((a) => a.name)).toEqual(mail.from?.value.map((a) => a.name));
      const to = Array.isArray(mail.to) ? mail.to.flatMap((t) => t.value) : (mail.to?.value ?? []);
      expect(report.to.map((a) => a.name)).toEqual(to.map((a) => a.name));
      expect(report.attachments.map((a) => [a.filename, a.sha256])).toEqual(
        mail.attachments.map((a) => [a.filename, sha256(a.content)]),
      );
    }
  });
});
