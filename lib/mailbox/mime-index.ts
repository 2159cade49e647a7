/**
 * A one-pass, streaming index of a stored item's MIME structure: the top-level header section and the
 * byte ranges of each top-level body part (with its own headers parsed), never holding a body. The
 * mailbox importers use it to cut an item that is too big for one Graph request into parts, or to hand
 * Graph its attachments one by one, by reading exact byte ranges of the stored blob.
 *
 * Offsets are absolute byte offsets in the item. A part's range [start, end) holds its header section
 * and body; the CRLF before the next boundary belongs to the boundary (RFC 2046 §5.1.1) and is excluded.
 */
import type { Readable } from 'node:stream';
import libmime from 'libmime';

export interface RawHeader {
  /** As written (case kept). */
  name: string;
  /** Unfolded value, undecoded. */
  value: string;
  /** The header exactly as stored (folded lines joined by CRLF, no final CRLF). */
  raw: string;
}

export interface PartIndex {
  start: number;
  bodyStart: number;
  end: number;
  headers: RawHeader[];
  contentType: string;
  /** Decoded file name (RFC 2231 / 2047), if the part has one. */
  filename?: string;
  disposition?: string;
  transferEncoding: string;
  contentId?: string;
  /** Body bytes without line terminators (for base64: the encoded characters). */
  contentChars: number;
  /** Bytes the body decodes to (base64: exact; other encodings: its raw size, an upper bound). */
  decodedSize: number;
  /** Every body line but the last is 76 characters (RFC 2045 base64 as MailComposer writes it). */
  lines76: boolean;
}

export interface MimeIndex {
  size: number;
  /** Offset where the top-level body starts (after the blank line). */
  bodyStart: number;
  headers: RawHeader[];
  contentType: string;
  boundary?: string;
  parts: PartIndex[];
}

/** Header sections above this are not an item of ours (the converter writes a few KiB). */
const MAX_HEADER_BYTES = 256 * 1024;

export class MimeIndexError extends Error {
  override readonly name = 'MimeIndexError';
}

export function header(headers: readonly RawHeader[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find((h) => h.name.toLowerCase() === lower)?.value;
}

function parseHeaderSection(lines: string[]): RawHeader[] {
  const out: RawHeader[] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && out.length) {
      const last = out[out.length - 1]!;
      last.value += line.replace(/^[ \t]+/, ' ');
      last.raw += `\r\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MimeIndexError(`malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    out.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim(), raw: line });
  }
  return out;
}

function describePart(
  p: Omit<PartIndex, 'contentType' | 'transferEncoding' | 'decodedSize' | 'contentChars' | 'lines76'>,
  stats: { chars: number; pad: number; lines76: boolean },
): PartIndex {
  const ct = libmime.parseHeaderValue(header(p.headers, 'content-type') ?? 'text/plain');
  const cd = header(p.headers, 'content-disposition');
  const disp = cd ? libmime.parseHeaderValue(cd) : undefined;
  const rawName = disp?.params.filename ?? ct.params.name;
  let filename: string | undefined;
  if (rawName !== undefined) {
    try {
      filename = libmime.decodeWords(rawName);
    } catch {
      filename = rawName;
    }
  }
  const cid = header(p.headers, 'content-id');
  const transferEncoding = (header(p.headers, 'content-transfer-encoding') ?? '7bit').trim().toLowerCase();
  const decodedSize =
    transferEncoding === 'base64' ? Math.floor(stats.chars / 4) * 3 - stats.pad : p.end - p.bodyStart;
  return {
    ...p,
    contentChars: stats.chars,
    lines76: stats.lines76,
    decodedSize: Math.max(0, decodedSize),
    contentType: String(ct.value).toLowerCase(),
    ...(filename !== undefined ? { filename } : {}),
    ...(disp ? { disposition: String(disp.value).toLowerCase() } : {}),
    transferEncoding,
    ...(cid ? { contentId: cid.trim().replace(/^<|>$/g, '') } : {}),
  };
}

/** Reads `source` to the end and returns its index. */
export async function indexMime(
  source: Readable | AsyncIterable<Buffer> | Iterable<Buffer>,
): Promise<MimeIndex> {
  let offset = 0; // absolute offset of `carry[0]`
  let carry: Buffer = Buffer.alloc(0);
  let state: 'headers' | 'preamble' | 'partHeaders' | 'partBody' | 'epilogue' = 'headers';
  const headerLines: string[] = [];
  let headerBytes = 0;
  let top: { headers: RawHeader[]; bodyStart: number; contentType: string; boundary?: string } | undefined;
  let delimiter = '';
  const parts: PartIndex[] = [];
  let current: { start: number; bodyStart: number; headers: RawHeader[] } | undefined;
  let partHeaderLines: string[] = [];
  /** Offset of the CR of the most recent line ending (the candidate end of a part body). */
  let lastLineBreak = -1;
  // Body statistics of the current part: characters without line ends, and trailing '=' of the last line.
  let chars = 0;
  let pad = 0;
  let odd = 0;
  let lastOdd = false;

  const onLine = (line: Buffer, lineStart: number, lineEnd: number, next: number) => {
    // lineEnd: offset of the line terminator (CR or LF); next: offset after it.
    if (state === 'headers' || state === 'partHeaders') {
      if (line.length === 0) {
        if (state === 'headers') {
          const headers = parseHeaderSection(headerLines);
          const ct = libmime.parseHeaderValue(header(headers, 'content-type') ?? 'text/plain');
          const contentType = String(ct.value).toLowerCase();
          const boundary = contentType.startsWith('multipart/') ? ct.params.boundary : undefined;
          top = { headers, bodyStart: next, contentType, ...(boundary ? { boundary } : {}) };
          if (!boundary) {
            state = 'epilogue';
            return;
          }
          delimiter = `--${boundary}`;
          state = 'preamble';
        } else {
          current = { ...current!, bodyStart: next, headers: parseHeaderSection(partHeaderLines) };
          state = 'partBody';
        }
        return;
      }
      headerBytes += line.length;
      if (headerBytes > MAX_HEADER_BYTES) throw new MimeIndexError('header section too large');
      (state === 'headers' ? headerLines : partHeaderLines).push(line.toString('latin1'));
      return;
    }
    if (state === 'epilogue') return;
    // Boundary lines: "--boundary" or "--boundary--", optional trailing whitespace.
    if (line.length >= delimiter.length + 0 && line[0] === 0x2d && line[1] === 0x2d) {
      const text = line.toString('latin1').replace(/[ \t]+$/, '');
      const isClose = text === `${delimiter}--`;
      if (text === delimiter || isClose) {
        if (state === 'partBody' && current) {
          const end = Math.max(lastLineBreak, current.bodyStart);
          // The last body line's terminator belongs to the boundary: do not count that line twice.
          parts.push(
            describePart({ ...current, end }, { chars, pad, lines76: odd === 0 || (odd === 1 && lastOdd) }),
          );
          current = undefined;
        }
        if (isClose) {
          state = 'epilogue';
          return;
        }
        current = { start: next, bodyStart: next, headers: [] };
        partHeaderLines = [];
        chars = 0;
        pad = 0;
        odd = 0;
        lastOdd = false;
        headerBytes = 0;
        state = 'partHeaders';
        return;
      }
    }
    void lineStart;
    lastLineBreak = lineEnd;
    if (state === 'partBody') {
      chars += line.length;
      lastOdd = line.length !== 76;
      if (lastOdd) odd++;
      pad =
        line.length && line[line.length - 1] === 0x3d
          ? line.length > 1 && line[line.length - 2] === 0x3d
            ? 2
            : 1
          : 0;
    }
  };

  for await (const chunk of source as AsyncIterable<Buffer>) {
    const buf: Buffer = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      const lf = buf.indexOf(0x0a, pos);
      if (lf < 0) break;
      const cr = lf > pos && buf[lf - 1] === 0x0d;
      const lineEndRel = cr ? lf - 1 : lf;
      onLine(buf.subarray(pos, lineEndRel), offset + pos, offset + lineEndRel, offset + lf + 1);
      pos = lf + 1;
    }
    carry = buf.subarray(pos);
    offset += pos;
    const inHeaders = (state as string) === 'headers' || (state as string) === 'partHeaders';
    if (carry.length > 64 * 1024 && inHeaders) throw new MimeIndexError('header line too long');
    // Body lines longer than 64 KiB are not ours (≤ 998 octets), but keep going: they are just content.
    if (carry.length > 1024 * 1024) {
      offset += carry.length;
      lastLineBreak = -1;
      carry = Buffer.alloc(0);
    }
  }
  const size = offset + carry.length;
  if (carry.length) onLine(carry, offset, size, size);
  if (!top) throw new MimeIndexError('no end of the header section');
  const ended = state as string; // assigned inside onLine: TypeScript cannot follow it
  if (ended === 'partBody' || ended === 'partHeaders')
    throw new MimeIndexError(`multipart body not closed by its final boundary`);
  return {
    size,
    bodyStart: top.bodyStart,
    headers: top.headers,
    contentType: top.contentType,
    ...(top.boundary ? { boundary: top.boundary } : {}),
    parts,
  };
}
