/**
 * GRAPH_IMPORT_MODE=json: the v1.0 route. The message is created from JSON with PR_MESSAGE_FLAGS
 * (`Integer 0x0E07` = 1, read and not unsent) set at creation, so it is not a draft; its original times
 * (`SystemTime 0x0E06` delivery time, `0x0039` submit time), its Message-ID (`String 0x1035`,
 * PR_INTERNET_MESSAGE_ID), its X-LivePerson-* headers and its HTML transcript. Then each file: under 3 MB
 * in one request, otherwise through an attachment upload session in byte ranges under 4 MB (Graph's
 * documented large-attachment path). Trade-off against importMime: the MIME itself is not kept, only its
 * content; the archive keeps the exact MIME.
 *
 * A message found by its Message-ID (an earlier attempt created it) gets only its missing attachments.
 */
import { Readable } from 'node:stream';
import libmime from 'libmime';
import { decode as qpDecode } from 'libqp';
import addressparser from 'nodemailer/lib/addressparser';
import type { GraphClient } from '../graph/client.js';
import { base64Decoder } from './base64.js';
import { chooseOmissions } from './import-plan.js';
import type { ImportOutcome, MailboxImporter, MailboxTarget, StoredItem } from './importer.js';
import type { ItemSource } from './item-source.js';
import { header, indexMime, type MimeIndex, type PartIndex } from './mime-index.js';

/** Decoded attachment bytes below this go in one request (Graph: under 3 MB). */
const SMALL_ATTACHMENT = 3 * 1024 * 1024 - 64 * 1024;
/** Upload session byte ranges (Graph: each under 4 MB). */
const RANGE = 3 * 1024 * 1024;
/** The HTML body travels inside the JSON create request (4 MB cap with everything else). */
const MAX_BODY = 2 * 1024 * 1024;

async function readRange(source: ItemSource, start: number, end: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of (await source.open(start, end - start)) as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function decodeBody(part: PartIndex, raw: Buffer): Buffer {
  if (part.transferEncoding === 'base64')
    return Buffer.from(raw.toString('latin1').replace(/\s+/g, ''), 'base64');
  if (part.transferEncoding === 'quoted-printable') return qpDecode(raw.toString('latin1'));
  return raw;
}

function words(v: string | undefined): string {
  if (!v) return '';
  try {
    return libmime.decodeWords(v);
  } catch {
    return v;
  }
}

function recipients(v: string | undefined): { emailAddress: { name?: string; address: string } }[] {
  if (!v) return [];
  return (addressparser(v, { flatten: true }) as { name: string; address: string }[])
    .filter((a) => a.address)
    .map((a) => ({ emailAddress: { ...(a.name ? { name: words(a.name) } : {}), address: a.address } }));
}

/** The transcript's HTML from the multipart/alternative part (part 0), when it fits a request. */
async function transcriptHtml(index: MimeIndex, source: ItemSource): Promise<string | undefined> {
  const alt = index.parts[0];
  if (!alt || alt.end - alt.start > MAX_BODY * 2) return undefined;
  const entity = await readRange(source, alt.start, alt.end);
  if (alt.contentType === 'text/html')
    return decodeBody(alt, entity.subarray(alt.bodyStart - alt.start)).toString('utf8');
  if (!alt.contentType.startsWith('multipart/')) return undefined;
  const inner = await indexMime([entity]);
  const html = inner.parts.find((p) => p.contentType === 'text/html');
  if (!html) return undefined;
  const body = decodeBody(html, entity.subarray(html.bodyStart, html.end)).toString('utf8');
  return Buffer.byteLength(body) <= MAX_BODY ? body : undefined;
}

export class JsonImporter implements MailboxImporter {
  readonly mode = 'json' as const;

  constructor(
    private readonly graph: GraphClient,
    private readonly opts: { maxItemBytes: number },
  ) {}

  async import(item: StoredItem, target: MailboxTarget): Promise<ImportOutcome> {
    // The importMime path can skip indexing small items; this one always needs the structure.
    const index = item.index.parts.length ? item.index : await indexMime(await item.source.open());
    const { omittedIdx, omitted } = await chooseOmissions(index, item.source, this.opts.maxItemBytes);
    const files = index.parts.map((p, i) => ({ p, i })).filter(({ i }) => i > 0 && !omittedIdx.has(i));
    const html = await transcriptHtml(index, item.source);
    if (html === undefined && index.parts[0]) files.unshift({ p: index.parts[0], i: 0 });
    const nameOf = (p: PartIndex, i: number) =>
      p.filename ?? (i === 0 ? 'transcript.eml-part' : `attachment-${i + 1}`);

    const existing = await this.graph.findMessages(target.user, target.folderId, item.messageId);
    let graphId: string;
    let state: 'created' | 'found';
    let present = new Set<string>();
    if (existing[0]) {
      graphId = existing[0].id;
      state = 'found';
      present = new Set(await this.graph.listAttachmentNames(target.user, graphId));
    } else {
      const date = new Date(Date.parse(header(index.headers, 'date') ?? '') || Date.now()).toISOString();
      const xHeaders = index.headers
        .filter((h) => /^x-/i.test(h.name))
        .slice(0, 5)
        .map((h) => ({ name: h.name, value: h.value.slice(0, 900) }));
      const notes = omitted.length
        ? `<p>Left out of this mailbox copy (over the mailbox limit); the archive keeps them in ${item.archivePath} (SHA-256 ${item.sha256}):</p><ul>${omitted
            .map((o) => `<li>${htmlEscape(o.name)}: ${o.size} bytes, SHA-256 ${o.sha256}</li>`)
            .join('')}</ul>`
        : '';
      const from = recipients(header(index.headers, 'from'))[0];
      const created = await this.graph.createMessage(target.user, target.folderId, {
        subject: words(header(index.headers, 'subject')),
        body: {
          contentType: 'html',
          content: html
            ? `${notes}${html}`
            : `${notes}<p>The transcript is attached (too large for the message body).</p>`,
        },
        ...(from ? { from, sender: from } : {}),
        toRecipients: recipients(header(index.headers, 'to')),
        ccRecipients: recipients(header(index.headers, 'cc')),
        internetMessageHeaders: xHeaders.length ? xHeaders : undefined,
        singleValueExtendedProperties: [
          { id: 'Integer 0x0E07', value: '1' },
          { id: 'SystemTime 0x0E06', value: date },
          { id: 'SystemTime 0x0039', value: date },
          { id: 'String 0x1035', value: item.messageId },
        ],
      });
      graphId = created.id;
      state = 'created';
    }
    for (const { p, i } of files) {
      const name = nameOf(p, i);
      if (present.has(name)) continue;
      await this.attach(item, target, graphId, p, name);
    }
    return { messages: [{ messageId: item.messageId, graphId, state }], omitted };
  }

  private async attach(
    item: StoredItem,
    target: MailboxTarget,
    graphId: string,
    p: PartIndex,
    name: string,
  ): Promise<void> {
    const inline = Boolean(p.contentId) && p.contentType.startsWith('image/');
    const base64Body = p.transferEncoding === 'base64';
    const size = base64Body ? p.decodedSize : p.end - p.start;
    if (size < SMALL_ATTACHMENT) {
      const raw = await readRange(item.source, base64Body ? p.bodyStart : p.start, p.end);
      const b64 = base64Body ? raw.toString('latin1').replace(/\s+/g, '') : raw.toString('base64');
      const json = Buffer.from(
        JSON.stringify({
          '@odata.type': '#microsoft.graph.fileAttachment',
          name,
          contentType: base64Body ? p.contentType : 'message/rfc822',
          contentBytes: b64,
          ...(inline ? { isInline: true, contentId: p.contentId } : {}),
        }),
        'utf8',
      );
      await this.graph.addAttachment(target.user, graphId, {
        length: json.length,
        open: () => Readable.from([json]),
      });
      return;
    }
    const session = await this.graph.createUploadSession(target.user, graphId, {
      name,
      size,
      contentType: base64Body ? p.contentType : 'message/rfc822',
      ...(inline && p.contentId ? { isInline: true, contentId: p.contentId } : {}),
    });
    const input = await item.source.open(
      base64Body ? p.bodyStart : p.start,
      p.end - (base64Body ? p.bodyStart : p.start),
    );
    const bytes = base64Body ? input.pipe(base64Decoder()) : input;
    if (base64Body) input.on('error', (err) => bytes.destroy(err));
    let pending: Buffer[] = [];
    let held = 0;
    let offset = 0;
    const flush = async (final: boolean) => {
      while (held >= RANGE || (final && held > 0)) {
        const all = Buffer.concat(pending);
        const take = all.subarray(0, Math.min(RANGE, all.length));
        await this.graph.uploadRange(target.user, session.uploadUrl, take, offset, size);
        offset += take.length;
        const rest = all.subarray(take.length);
        pending = rest.length ? [rest] : [];
        held = rest.length;
      }
    };
    for await (const c of bytes as AsyncIterable<Buffer>) {
      pending.push(c);
      held += c.length;
      if (held >= RANGE) await flush(false);
    }
    await flush(true);
    if (offset !== size) throw new Error(`attachment ${name}: uploaded ${offset} of ${size} bytes`);
  }
}

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
