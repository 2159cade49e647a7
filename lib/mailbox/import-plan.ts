/**
 * How one stored item becomes the message(s) a mailbox receives.
 *
 * - An item that fits one Graph request (4 MB, base64 included) and the mailbox limit is imported as it is
 *   stored, byte for byte.
 * - A bigger item is cut into numbered parts. Each part is a complete message: the original headers, a
 *   Subject ending "(part k of n)", its own deterministic Message-ID (part 1 keeps the item's own), a
 *   References header pointing to part 1, a short notice saying what the part carries, and whole
 *   top-level parts of the original copied byte for byte. A single file too big for one request travels
 *   as numbered segments (`name.part-01-of-05`), whose bytes, concatenated, are the file.
 * - Files that would take the item over the mailbox limit are left out of the mailbox copy and named in
 *   the notice with the item's archive path and their SHA-256 (the archive keeps them).
 *
 * Deterministic: the same item and limits always give the same messages and Message-IDs, so a
 * redelivery finds what an earlier attempt created.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import libmime from 'libmime';
import { base64Decoder, base64Length, base64MimeLength } from './base64.js';
import type { ItemSource } from './item-source.js';
import { header, type MimeIndex, type PartIndex, type RawHeader } from './mime-index.js';

/** Graph's request cap. */
export const GRAPH_REQUEST_CAP = 4 * 1024 * 1024;
/** Raw MIME bytes that fit one importMime request once base64-encoded, with room to spare. */
export const MAX_RAW_PER_REQUEST = Math.floor((GRAPH_REQUEST_CAP - 64 * 1024) / 4) * 3;

export type Piece =
  /** Bytes [start, end) of the item copied as they are (a whole top-level body part). */
  | { kind: 'raw'; start: number; end: number; label: string }
  /** Decoded bytes [from, to) of a part's content, as an attachment of its own. */
  | {
      kind: 'segment';
      part: PartIndex;
      from: number;
      to: number;
      name: string;
      headers: string;
      label: string;
    };

export interface OmittedFile {
  name: string;
  size: number;
  sha256: string;
}

export interface PlannedMessage {
  messageId: string;
  /** Header section (no final blank line), CRLF line ends. */
  headers: string;
  boundary: string;
  notice: string;
  pieces: Piece[];
  /** Exact byte length of the assembled MIME. */
  size: number;
}

export type ImportPlan =
  | { kind: 'whole'; messageId: string; size: number }
  | { kind: 'rewritten'; messages: PlannedMessage[]; omitted: OmittedFile[] };

export interface PlanContext {
  index: MimeIndex;
  source: ItemSource;
  /** Where the item is archived (container/path), named in notices. */
  archivePath: string;
  /** SHA-256 of the stored item. */
  itemSha256: string;
  /** The mailbox limit for one item (MAILBOX_MAX_ITEM_MB). */
  maxItemBytes: number;
  /** Raw bytes per message (MAX_RAW_PER_REQUEST; tests shrink it). */
  maxRawPerMessage?: number;
}

export class ImportPlanError extends Error {
  override readonly name = 'ImportPlanError';
}

const NOTICE_BUDGET = 16 * 1024;

function isAsciiSafe(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

/** An RFC 2231 parameter (after a plain-ASCII fallback), as the converter writes file names. */
function fileParam(key: 'name' | 'filename', name: string): string {
  if (isAsciiSafe(name) && !/["\\]/.test(name)) return `${key}="${name}"`;
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const enc = libmime
    .buildHeaderParam(key, name, 60)
    .map((p) => `${p.key}=${p.value}`)
    .join(';\r\n ');
  return `${key}="${ascii}";\r\n ${enc}`;
}

function segmentHeaders(name: string): string {
  return [
    `Content-Type: application/octet-stream; ${fileParam('name', name)}`,
    `Content-Disposition: attachment; ${fileParam('filename', name)}`,
    'Content-Transfer-Encoding: base64',
  ].join('\r\n');
}

function partMessageId(original: string, k: number, n: number): string {
  if (k === 1) return original;
  const m = /^<([^>@]+)@([^>]+)>$/.exec(original.trim());
  if (!m) throw new ImportPlanError(`the item's Message-ID is not <local@domain>: ${original.slice(0, 80)}`);
  return `<part-${k}-of-${n}.${m[1]}@${m[2]}>`;
}

function pieceSize(p: Piece): number {
  if (p.kind === 'raw') return p.end - p.start;
  return p.headers.length + 4 + base64MimeLength(p.to - p.from);
}

function humanSize(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}

export async function sha256OfPart(source: ItemSource, part: PartIndex): Promise<string> {
  const hash = createHash('sha256');
  const input = await source.open(part.bodyStart, part.end - part.bodyStart);
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      hash.update(chunk);
      done();
    },
  });
  if (part.transferEncoding === 'base64') await pipeline(input, base64Decoder(), sink);
  else await pipeline(input, sink);
  return hash.digest('hex');
}

function assembledSize(m: Omit<PlannedMessage, 'size'>): number {
  const delimiter = `--${m.boundary}`;
  let size = m.headers.length + 4; // header section + blank line
  size += delimiter.length + 2 + m.notice.length; // first delimiter line + notice part
  for (const p of m.pieces) size += 2 + delimiter.length + 2 + pieceSize(p);
  size += 2 + delimiter.length + 2 + 2; // close delimiter + CRLF
  return size;
}

/** The top-level header section for message k of n: the original's, with its own Message-ID/Subject/type. */
function partHeaders(
  index: MimeIndex,
  k: number,
  n: number,
  messageId: string,
  original: string,
  boundary: string,
): string {
  const drop = new Set([
    'content-type',
    'content-transfer-encoding',
    'message-id',
    'references',
    'mime-version',
  ]);
  const lines: string[] = [];
  for (const h of index.headers as RawHeader[]) {
    const name = h.name.toLowerCase();
    if (drop.has(name)) continue;
    if (name === 'subject' && n > 1) lines.push(`${h.raw} (part ${k} of ${n})`);
    else lines.push(h.raw);
  }
  lines.push(`Message-ID: ${messageId}`);
  if (k > 1) lines.push(`References: ${original}`);
  if (n > 1) lines.push(`X-LivePerson-Archive-Part: ${k}/${n}`);
  lines.push('MIME-Version: 1.0', `Content-Type: multipart/mixed; boundary="${boundary}"`);
  return lines.join('\r\n');
}

function noticePart(lines: string[]): string {
  const text = `${lines.join('\r\n')}\r\n`;
  const b64 = Buffer.from(text, 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n');
  return `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}`;
}

/**
 * The mailbox limit: the largest files (never the transcript, part 0) are left out until the rest fits;
 * each one left out is named with its size and SHA-256.
 */
export async function chooseOmissions(
  index: MimeIndex,
  source: ItemSource,
  maxItemBytes: number,
): Promise<{ omittedIdx: Set<number>; omitted: OmittedFile[] }> {
  const omittedIdx = new Set<number>();
  let total = index.size;
  const bySize = index.parts
    .map((p, i) => ({ p, i }))
    .filter(({ i }) => i > 0)
    .sort((a, b) => b.p.decodedSize - a.p.decodedSize);
  for (const { p, i } of bySize) {
    if (total <= maxItemBytes) break;
    omittedIdx.add(i);
    total -= p.end - p.start;
  }
  const omitted: OmittedFile[] = [];
  for (const i of [...omittedIdx].sort((a, b) => a - b)) {
    const p = index.parts[i]!;
    omitted.push({
      name: p.filename ?? `part ${i + 1}`,
      size: p.decodedSize,
      sha256: await sha256OfPart(source, p),
    });
  }
  return { omittedIdx, omitted };
}

export async function planImport(ctx: PlanContext): Promise<ImportPlan> {
  const { index } = ctx;
  const budget = ctx.maxRawPerMessage ?? MAX_RAW_PER_REQUEST;
  const original = header(index.headers, 'message-id')?.trim();
  if (!original) throw new ImportPlanError('the item has no Message-ID');
  if (index.size <= budget && index.size <= ctx.maxItemBytes)
    return { kind: 'whole', messageId: original, size: index.size };
  if (!index.boundary || index.parts.length === 0)
    throw new ImportPlanError(
      'the item is too large for one request and is not multipart: it cannot be cut into parts',
    );

  const { omittedIdx, omitted } = await chooseOmissions(index, ctx.source, ctx.maxItemBytes);

  // Pack the remaining parts greedily, in their original order; cut any part too big for one message.
  const seed = createHash('sha256').update(ctx.itemSha256).update(original).digest('hex').slice(0, 16);
  const room = budget - 4096 - NOTICE_BUDGET; // header section and notice of each message
  const groups: Piece[][] = [[]];
  let used = 0;
  const startNew = () => {
    if (groups[groups.length - 1]!.length) groups.push([]);
    used = 0;
  };
  index.parts.forEach((p, i) => {
    if (omittedIdx.has(i)) return;
    const label = p.filename ?? (i === 0 ? 'the transcript' : `part ${i + 1}`);
    const raw: Piece = { kind: 'raw', start: p.start, end: p.end, label };
    const size = p.end - p.start;
    if (size <= room) {
      if (used + size > room) startNew();
      groups[groups.length - 1]!.push(raw);
      used += size;
      return;
    }
    // Too big for any one message: numbered segments of its decoded bytes.
    const baseName = p.filename ?? (i === 0 ? 'transcript.mime' : `part-${i + 1}.bin`);
    const perSegment = Math.floor((room - 1024) / 78) * 57;
    const content = p.transferEncoding === 'base64' ? p.decodedSize : p.end - p.start;
    const count = Math.ceil(content / perSegment);
    for (let s = 0; s < count; s++) {
      startNew();
      const name = `${baseName}.part-${String(s + 1).padStart(2, '0')}-of-${String(count).padStart(2, '0')}`;
      const seg: Piece = {
        kind: 'segment',
        // A part that is not base64 is carried whole (headers and body), so it can be reassembled as MIME.
        part: p.transferEncoding === 'base64' ? p : { ...p, bodyStart: p.start, transferEncoding: 'binary' },
        from: s * perSegment,
        to: Math.min(content, (s + 1) * perSegment),
        name,
        headers: segmentHeaders(name),
        label: `${name} (bytes ${s * perSegment}-${Math.min(content, (s + 1) * perSegment) - 1} of ${baseName})`,
      };
      groups[groups.length - 1]!.push(seg);
      used = room; // a segment fills its message
    }
  });
  if (groups[groups.length - 1]!.length === 0 && groups.length > 1) groups.pop();

  const n = groups.length;
  const messages: PlannedMessage[] = groups.map((pieces, j) => {
    const k = j + 1;
    const messageId = partMessageId(original, k, n);
    const boundary = `--_lp-archiver-part-${k}-${seed}`;
    const lines = [
      n > 1
        ? `Part ${k} of ${n} of this archived conversation. The item was too large for one Microsoft Graph request, so it arrives as ${n} messages with the same subject; parts 2 to ${n} refer to part 1 (References: ${original}).`
        : 'This mailbox copy of the archived conversation leaves out the files listed below.',
      `Archived item: ${ctx.archivePath} (SHA-256 ${ctx.itemSha256}).`,
      '',
      `This message carries: ${pieces.map((p) => p.label).join('; ') || 'nothing else'}.`,
    ];
    if (pieces.some((p) => p.kind === 'segment'))
      lines.push(
        '',
        'A file sent in numbered segments is restored by joining the segments in order (part-01, part-02, ...).',
      );
    if (omitted.length && k === 1) {
      lines.push(
        '',
        `Left out of the mailbox copy (over the mailbox limit of ${humanSize(ctx.maxItemBytes)}); the archive keeps them in the item above:`,
      );
      for (const o of omitted) lines.push(`- ${o.name}: ${humanSize(o.size)}, SHA-256 ${o.sha256}`);
    }
    let notice = noticePart(lines);
    if (notice.length > NOTICE_BUDGET) notice = noticePart(lines.slice(0, 4));
    const m = {
      messageId,
      headers: partHeaders(index, k, n, messageId, original, boundary),
      boundary,
      notice,
      pieces,
    };
    return { ...m, size: assembledSize(m) };
  });
  for (const m of messages)
    if (m.size > budget)
      throw new ImportPlanError(`planned part ${m.messageId} is ${m.size} bytes, over ${budget}`);
  return { kind: 'rewritten', messages, omitted };
}

export function planBase64Length(m: PlannedMessage): number {
  return base64Length(m.size);
}
