/**
 * Byte-level checks on a generated .eml (our own, independent of the builder) and a mailparser
 * round-trip. Every converter test runs its output through these.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type ParsedMail, simpleParser } from 'mailparser';
import { expect } from 'vitest';
import type { ConversionResult } from '../../lib/email/convert.js';

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

const SINGLE = [
  'date',
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'message-id',
  'in-reply-to',
  'references',
  'subject',
];

/** Returns a list of problems (empty = good) so property tests can report them in one go. */
export function emlProblems(eml: Buffer): string[] {
  const problems: string[] = [];
  for (let i = 0; i < eml.length; i++) {
    const b = eml[i];
    if (b === 0x0a && eml[i - 1] !== 0x0d) {
      problems.push(`bare LF at byte ${i}`);
      break;
    }
    if (b === 0x0d && eml[i + 1] !== 0x0a) {
      problems.push(`bare CR at byte ${i}`);
      break;
    }
  }
  let start = 0;
  let lineNo = 0;
  while (start < eml.length) {
    let end = eml.indexOf(0x0d, start);
    if (end < 0) end = eml.length;
    if (end - start > 998) problems.push(`line ${lineNo + 1} is ${end - start} octets`);
    start = end + 2;
    lineNo++;
  }
  const headerEnd = eml.indexOf('\r\n\r\n');
  if (headerEnd < 0) return [...problems, 'no end of header section'];
  const head = eml.subarray(0, headerEnd);
  for (let i = 0; i < head.length; i++) {
    if (
      (head[i] as number) > 0x7e ||
      ((head[i] as number) < 0x20 && head[i] !== 0x0d && head[i] !== 0x0a && head[i] !== 0x09)
    ) {
      problems.push(
        `non-ASCII or control byte 0x${(head[i] as number).toString(16)} in header section at ${i}`,
      );
      break;
    }
  }
  const names = head
    .toString('latin1')
    .split('\r\n')
    .filter((l) => l && !/^[ \t]/.test(l))
    .map((l) => {
      const colon = l.indexOf(':');
      if (colon <= 0) problems.push(`header line without a name: ${JSON.stringify(l.slice(0, 60))}`);
      return l.slice(0, colon).toLowerCase();
    });
  for (const h of SINGLE) {
    const n = names.filter((x) => x === h).length;
    if (n > 1) problems.push(`header ${h} appears ${n} times`);
  }
  for (const h of ['date', 'from', 'to', 'subject', 'message-id', 'mime-version']) {
    if (!names.includes(h)) problems.push(`header ${h} missing`);
  }
  return problems;
}

export function expectWellFormed(eml: Buffer): void {
  expect(emlProblems(eml)).toEqual([]);
}

export async function parse(eml: Buffer): Promise<ParsedMail> {
  return simpleParser(eml, { skipTextToHtml: true, skipImageLinks: true });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The HTML body with its own escaping (and <br> line breaks) undone, for "is this text present" checks. */
export function htmlText(html: string): string {
  return html
    .replace(/\r\n/g, '\n')
    .replace(/<br>/g, '\n')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/**
 * Converts fully: reads the stream, checks the bytes, parses, and checks the attachments against the
 * expected SHA-256 per filename (the source JSON is always checked).
 */
export async function roundTrip(
  result: ConversionResult,
  expectedFiles: Record<string, Buffer> = {},
): Promise<{ eml: Buffer; mail: ParsedMail; text: string; html: string }> {
  const eml = await readAll(result.eml);
  expectWellFormed(eml);
  const mail = await parse(eml);
  const text = (mail.text ?? '').replace(/\r\n/g, '\n');
  const html = typeof mail.html === 'string' ? mail.html : '';
  expect(text.length).toBeGreaterThan(0);
  expect(html.length).toBeGreaterThan(0);
  const byName = new Map(mail.attachments.map((a) => [a.filename ?? '', a]));
  const source = mail.attachments.find((a) => a.contentType === 'application/json');
  expect(source, 'source JSON attached').toBeDefined();
  expect(sha256(source?.content as Buffer)).toBe(sha256(result.sourceJson));
  for (const [name, bytes] of Object.entries(expectedFiles)) {
    const a = byName.get(name);
    expect(a, `attachment ${name}`).toBeDefined();
    expect(sha256(a?.content as Buffer)).toBe(sha256(bytes));
  }
  return { eml, mail, text, html };
}

export { sha256 };
