import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { assembleMessage } from '../../lib/mailbox/assemble.js';
import { planImport } from '../../lib/mailbox/import-plan.js';
import { bufferItemSource } from '../../lib/mailbox/item-source.js';
import { indexMime } from '../../lib/mailbox/mime-index.js';
import { readAll } from '../email/eml-assertions.js';
import { bytesOf, itemWithFiles, sha256 } from './support.js';

const MB = 1024 * 1024;

describe('indexMime', () => {
  it('finds every top-level part of a converted item with exact byte ranges and decoded sizes', async () => {
    const files = [
      { name: 'receipt.png', bytes: bytesOf(300_000, 1) },
      { name: 'statement.pdf', bytes: bytesOf(1_000, 2) },
    ];
    const { eml } = await itemWithFiles('conv-idx', files);
    // Feed it in awkward chunk sizes: boundaries and CRLFs split across chunks.
    const chunks = [];
    for (let i = 0; i < eml.length; i += 997) chunks.push(eml.subarray(i, i + 997));
    const index = await indexMime(chunks);
    expect(index.size).toBe(eml.length);
    expect(index.contentType).toBe('multipart/mixed');
    expect(index.parts.map((p) => p.contentType)).toEqual([
      'multipart/alternative',
      'image/png',
      'application/pdf',
      'application/json',
    ]);
    expect(index.parts[1]).toMatchObject({ filename: 'receipt.png', decodedSize: 300_000, lines76: true });
    expect(index.parts[2]).toMatchObject({ filename: 'statement.pdf', decodedSize: 1_000 });
    // Each range is a whole MIME entity: re-parsing it alone gives the same file.
    const entity = eml.subarray(index.parts[1]!.start, index.parts[1]!.end);
    const parsed = await simpleParser(Buffer.concat([Buffer.from('MIME-Version: 1.0\r\n'), entity]));
    expect(sha256(parsed.attachments[0]?.content ?? Buffer.alloc(0))).toBe(sha256(files[0]!.bytes));
    // The bytes between parts are exactly the boundary lines.
    const between = eml.subarray(index.parts[1]!.end, index.parts[2]!.start).toString('latin1');
    expect(between).toMatch(/^\r\n--[^\r\n]+\r\n$/);
  });
});

describe('planImport + assembleMessage', () => {
  it('imports an item that fits one request as it is', async () => {
    const { eml } = await itemWithFiles('conv-small', [{ name: 'a.png', bytes: bytesOf(10_000, 3) }]);
    const index = await indexMime([eml]);
    const plan = await planImport({
      index,
      source: bufferItemSource(eml),
      archivePath: 'archive/x.eml',
      itemSha256: sha256(eml),
      maxItemBytes: 150 * MB,
    });
    expect(plan.kind).toBe('whole');
  });

  it('cuts a big item into complete, numbered parts whose files (and joined segments) equal the originals', async () => {
    const files = [
      { name: 'big.bin', bytes: bytesOf(700_000, 4) }, // bigger than one part: segments
      { name: 'mid.png', bytes: bytesOf(150_000, 5) },
      { name: 'small.png', bytes: bytesOf(20_000, 6) },
      { name: 'Ωμέγα φωτογραφία.png', bytes: bytesOf(90_000, 7) },
    ];
    const { eml, result } = await itemWithFiles('conv-big', files);
    const index = await indexMime([eml]);
    const budget = 300_000;
    const plan = await planImport({
      index,
      source: bufferItemSource(eml),
      archivePath: 'archive/2024/06/10/conv-big/v.eml',
      itemSha256: sha256(eml),
      maxItemBytes: 150 * MB,
      maxRawPerMessage: budget,
    });
    if (plan.kind !== 'rewritten') throw new Error('expected parts');
    const n = plan.messages.length;
    expect(n).toBeGreaterThan(3);
    const got = new Map<string, Buffer[]>();
    const ids = new Set<string>();
    for (const [j, m] of plan.messages.entries()) {
      const bytes = await readAll(assembleMessage(m, bufferItemSource(eml)));
      expect(bytes.length).toBe(m.size);
      expect(bytes.length).toBeLessThanOrEqual(budget);
      expect(bytes.includes(Buffer.from('\n')) && /[^\r]\n/.test(bytes.toString('latin1'))).toBe(false);
      const mail = await simpleParser(bytes);
      ids.add(mail.messageId!);
      expect(mail.subject).toBe(`${result.subject} (part ${j + 1} of ${n})`);
      if (j === 0) expect(mail.messageId).toBe(result.messageId);
      else expect(mail.references).toBe(result.messageId);
      expect(mail.text).toContain(`Part ${j + 1} of ${n}`);
      for (const a of mail.attachments) {
        const name = a.filename ?? '';
        const base = name.replace(/\.part-\d+-of-\d+$/, '');
        got.set(base, [...(got.get(base) ?? []), a.content]);
      }
    }
    expect(ids.size).toBe(n);
    for (const f of files) {
      const pieces = got.get(f.name);
      expect(pieces, f.name).toBeDefined();
      expect(sha256(Buffer.concat(pieces!))).toBe(sha256(f.bytes));
    }
    // The source record travels too.
    expect([...got.keys()].some((k) => k.startsWith('conversation-') && k.endsWith('.json'))).toBe(true);
  });

  it('leaves files over the mailbox limit out, naming them with size and SHA-256', async () => {
    const files = [
      { name: 'huge.bin', bytes: bytesOf(600_000, 8) },
      { name: 'ok.png', bytes: bytesOf(50_000, 9) },
    ];
    const { eml } = await itemWithFiles('conv-limit', files);
    const index = await indexMime([eml]);
    const plan = await planImport({
      index,
      source: bufferItemSource(eml),
      archivePath: 'archive/conv-limit.eml',
      itemSha256: sha256(eml),
      maxItemBytes: 400_000,
    });
    if (plan.kind !== 'rewritten') throw new Error('expected a rewritten copy');
    expect(plan.omitted).toEqual([{ name: 'huge.bin', size: 600_000, sha256: sha256(files[0]!.bytes) }]);
    expect(plan.messages).toHaveLength(1);
    const mail = await simpleParser(await readAll(assembleMessage(plan.messages[0]!, bufferItemSource(eml))));
    expect(mail.text).toContain(`huge.bin: 585.9 KB, SHA-256 ${sha256(files[0]!.bytes)}`);
    expect(mail.text).toContain('archive/conv-limit.eml');
    expect(mail.attachments.map((a) => a.filename)).toContain('ok.png');
    expect(mail.attachments.map((a) => a.filename)).not.toContain('huge.bin');
  });
});
