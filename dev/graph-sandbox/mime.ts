/**
 * MIME on the sandbox's hot path and for read-back. The hot path only validates base64 and reads the header
 * section (Message-ID, Subject, Date, addresses), leaving the stored bytes untouched; full parsing
 * (mailparser) and composing (nodemailer's MailComposer, for items created from JSON) happen lazily, for
 * read-back and the mirror.
 */
import libmime from 'libmime';
import { simpleParser } from 'mailparser';
import addressparser from 'nodemailer/lib/addressparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { GraphError } from './errors.js';

export interface Mailbox {
  name?: string;
  address: string;
}

export interface MimeSummary {
  messageId?: string;
  subject: string;
  date?: Date;
  from?: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  hasAttachments: boolean;
}

/**
 * Strict base64 (as .NET's Convert.FromBase64String: whitespace ignored, length a multiple of 4, padding
 * only at the end). Node's decoder skips junk and accepts the URL-safe alphabet, so the strictness comes
 * from refusing '-'/'_' and checking the decoded length against the input's: one decoding pass, no regex
 * over the whole body (the hot path of every import).
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  const hasSpace = text.includes('\n') || text.includes('\r') || text.includes(' ') || text.includes('\t');
  const compact = hasSpace ? text.replace(/[ \t\r\n]/g, '') : text;
  if (compact.length % 4 !== 0 || compact.includes('-') || compact.includes('_')) return undefined;
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  const decoded = Buffer.from(compact, 'base64');
  return decoded.length === (compact.length / 4) * 3 - padding ? decoded : undefined;
}

export const invalidBase64 = () =>
  new GraphError(400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.');

const notAMessage = (why: string) =>
  new GraphError(
    400,
    'ErrorMimeContentConversionFailed',
    `The MIME content could not be converted to a message: ${why}.`,
  );

const FIELD = /^([!-9;-~]+):/;

/** The header fields (name as written, unfolded value) in order, or a 400 when there is no header section. */
export function headerFields(mime: Buffer): Array<[string, string]> {
  if (mime.length === 0) throw notAMessage('the content is empty');
  const crlf = mime.indexOf('\r\n\r\n');
  const lf = mime.indexOf('\n\n');
  const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
  const text = mime.subarray(0, end >= 0 ? end : mime.length).toString('utf8');
  const fields: Array<[string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line)) {
      const last = fields[fields.length - 1];
      if (!last) throw notAMessage('it starts with a continuation line, not a header field');
      last[1] += line;
      continue;
    }
    const m = FIELD.exec(line);
    if (!m) throw notAMessage(`'${line.slice(0, 40)}' is not a header field`);
    fields.push([m[1]!, line.slice(m[0].length).trim()]);
  }
  return fields;
}

function mailboxes(value: string | undefined): Mailbox[] {
  if (!value) return [];
  const out: Mailbox[] = [];
  for (const a of addressparser(value, { flatten: true })) {
    if (!a.address) continue;
    out.push({ ...(a.name ? { name: libmime.decodeWords(a.name) } : {}), address: a.address });
  }
  return out;
}

export function summariseMime(mime: Buffer): MimeSummary {
  const fields = headerFields(mime);
  const first = (name: string) => fields.find(([k]) => k.toLowerCase() === name)?.[1];
  const dateText = first('date');
  const date = dateText ? new Date(dateText) : undefined;
  const messageId = first('message-id')?.trim();
  const contentType = first('content-type')?.toLowerCase() ?? '';
  const from = mailboxes(first('from'))[0];
  return {
    ...(messageId ? { messageId } : {}),
    subject: libmime.decodeWords(first('subject') ?? ''),
    ...(date && !Number.isNaN(date.getTime()) ? { date } : {}),
    ...(from ? { from } : {}),
    to: mailboxes(first('to')),
    cc: mailboxes(first('cc')),
    bcc: mailboxes(first('bcc')),
    hasAttachments: contentType.startsWith('multipart/mixed'),
  };
}

export interface ReadBackAttachment {
  name: string;
  contentType: string;
  size: number;
  bytes: Buffer;
  isInline: boolean;
  contentId?: string;
}

/** Every attachment of a stored message (inline ones included), parsed with mailparser. */
export async function mimeAttachments(mime: Buffer): Promise<ReadBackAttachment[]> {
  const parsed = await simpleParser(mime, {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipTextLinks: true,
  });
  return parsed.attachments.map((a) => ({
    name: a.filename ?? '',
    contentType: a.contentType,
    size: a.content.length,
    bytes: a.content,
    isInline: a.contentDisposition === 'inline' || a.related === true,
    ...(a.cid ? { contentId: a.cid } : {}),
  }));
}

export interface ComposeInput {
  messageId: string;
  subject: string;
  date: Date;
  from?: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  replyTo: Mailbox[];
  body: { contentType: 'text' | 'html'; content: string };
  headers: Array<{ name: string; value: string }>;
  attachments: Array<{
    name: string;
    contentType: string;
    bytes: Buffer;
    isInline: boolean;
    contentId?: string;
  }>;
}

const fmt = (m: Mailbox) => (m.name ? { name: m.name, address: m.address } : m.address);

/** An RFC 5322 rendering of a message created from JSON (what an export of the item would look like). */
export async function composeMime(input: ComposeInput): Promise<Buffer> {
  const node = new MailComposer({
    messageId: input.messageId,
    date: input.date,
    subject: input.subject,
    ...(input.from ? { from: fmt(input.from) } : {}),
    to: input.to.map(fmt),
    cc: input.cc.map(fmt),
    bcc: input.bcc.map(fmt),
    replyTo: input.replyTo.map(fmt),
    ...(input.body.contentType === 'html' ? { html: input.body.content } : { text: input.body.content }),
    headers: input.headers.map((h) => ({ key: h.name, value: h.value })),
    attachments: input.attachments.map((a) => ({
      filename: a.name,
      content: a.bytes,
      contentType: a.contentType,
      contentDisposition: a.isInline ? ('inline' as const) : ('attachment' as const),
      ...(a.contentId ? { cid: a.contentId } : {}),
    })),
  }).compile();
  node.keepBcc = true;
  return node.build();
}
