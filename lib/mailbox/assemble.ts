/** Streams the bytes of a planned part message (lib/mailbox/import-plan.ts), reading the item by ranges. */
import { Readable } from 'node:stream';
import { base64Decoder, base64MimeEncoder } from './base64.js';
import type { Piece, PlannedMessage } from './import-plan.js';
import type { ItemSource } from './item-source.js';

/** Decoded content bytes [from, to) of a segment's part, streamed. */
async function* segmentContent(
  source: ItemSource,
  piece: Extract<Piece, { kind: 'segment' }>,
): AsyncGenerator<Buffer> {
  const { part, from, to } = piece;
  if (part.transferEncoding !== 'base64') {
    // Carried whole: the raw bytes of the part entity.
    yield* (await source.open(part.bodyStart + from, to - from)) as AsyncIterable<Buffer>;
    return;
  }
  let skip = from;
  let input: Readable;
  if (part.lines76 && from % 57 === 0) {
    // 57 decoded bytes per 78-byte line (76 characters + CRLF): seek straight to the segment.
    const offset = part.bodyStart + (from / 57) * 78;
    const count = Math.min(part.end - offset, Math.ceil((to - from) / 57) * 78);
    input = await source.open(offset, count);
    skip = 0;
  } else {
    input = await source.open(part.bodyStart, part.end - part.bodyStart);
  }
  let left = to - from;
  const decoded = input.pipe(base64Decoder());
  input.on('error', (err) => decoded.destroy(err));
  for await (const chunk of decoded as AsyncIterable<Buffer>) {
    let c = chunk;
    if (skip) {
      if (c.length <= skip) {
        skip -= c.length;
        continue;
      }
      c = c.subarray(skip);
      skip = 0;
    }
    if (c.length >= left) {
      yield c.subarray(0, left);
      left = 0;
      input.destroy();
      break;
    }
    left -= c.length;
    yield c;
  }
  if (left > 0) throw new Error(`segment ${piece.name}: the item ended ${left} bytes early`);
}

async function* pieceBytes(source: ItemSource, piece: Piece): AsyncGenerator<Buffer> {
  if (piece.kind === 'raw') {
    yield* (await source.open(piece.start, piece.end - piece.start)) as AsyncIterable<Buffer>;
    return;
  }
  yield Buffer.from(`${piece.headers}\r\n\r\n`, 'latin1');
  const encoder = base64MimeEncoder();
  const content = Readable.from(segmentContent(source, piece));
  content.on('error', (err) => encoder.destroy(err));
  yield* content.pipe(encoder) as AsyncIterable<Buffer>;
}

async function* messageBytes(m: PlannedMessage, source: ItemSource): AsyncGenerator<Buffer> {
  const delimiter = `--${m.boundary}`;
  yield Buffer.from(`${m.headers}\r\n\r\n${delimiter}\r\n${m.notice}`, 'latin1');
  for (const p of m.pieces) {
    yield Buffer.from(`\r\n${delimiter}\r\n`, 'latin1');
    for await (const b of pieceBytes(source, p)) yield Buffer.isBuffer(b) ? b : Buffer.from(b);
  }
  yield Buffer.from(`\r\n${delimiter}--\r\n`, 'latin1');
}

/** A fresh stream of the message's bytes on each call (the HTTP layer calls it again on a retry). */
export function assembleMessage(m: PlannedMessage, source: ItemSource): Readable {
  return Readable.from(messageBytes(m, source), { objectMode: false });
}
