/**
 * MIME parts handed to MailComposer ready-made (`raw`): the transcript's multipart/alternative and the in-memory
 * attachments (source record, previews, files a provider gave as a Buffer). Base64 with Node's native
 * encoder, wrapped at 76 columns exactly as MailComposer's own base64 encoder writes them (a property
 * test holds the bytes equal), at a fraction of the cost of its per-part encoder streams. Base64 rather
 * than quoted-printable for the text parts: exact for any text (no soft-break or trailing-space rules),
 * smaller for non-Latin scripts, and the cheapest encoding there is.
 */

const LINE = 76;

/** `b64` in lines of 76 characters joined by CRLF, the last one without a line break. */
function wrap(b64: string): string {
  if (b64.length <= LINE) return b64;
  // Slices of a flat string are cheap views; one concatenation and one write beat per-line copies.
  let out = b64.slice(0, LINE);
  for (let i = LINE; i < b64.length; i += LINE) out += `\r\n${b64.slice(i, i + LINE)}`;
  return out;
}

/**
 * A whole base64 part: the given header lines (ASCII, CRLF-separated, no trailing CRLF), a blank line,
 * then `body` as base64 lines of 76 characters joined by CRLF, the last one without a line break.
 */
export function base64Part(headerLines: string, body: Buffer | Uint8Array): Buffer {
  const b64 = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64');
  return Buffer.from(`${headerLines}\r\nContent-Transfer-Encoding: base64\r\n\r\n${wrap(b64)}`, 'latin1');
}

/**
 * A reusable buffer for UTF-8 encoding: writing into it is about twice as fast on Node 20 as
 * Buffer.from for text with any character beyond Latin-1 (Buffer.from scans the text once for its length
 * first), and it saves an allocation per part. Only ever used synchronously, then copied or encoded.
 */
let scratch = Buffer.allocUnsafe(256 * 1024);

function encodeUtf8(text: string): Buffer {
  if (scratch.length < text.length * 3) scratch = Buffer.allocUnsafe(text.length * 3);
  return scratch.subarray(0, scratch.write(text, 0, 'utf8'));
}

/** `text` as UTF-8, in a buffer of its own. */
export function utf8(text: string): Buffer {
  return Buffer.from(encodeUtf8(text));
}

/** A text part (text/plain or text/html, UTF-8) in the same form as MailComposer writes one in base64. */
export function textPart(contentType: 'text/plain' | 'text/html', body: string): Buffer {
  return base64Part(`Content-Type: ${contentType}; charset=utf-8`, encodeUtf8(body));
}

/**
 * The multipart/alternative part (text/plain, then text/html) exactly as MailComposer writes it as the
 * first child of the message's multipart/mixed root: its header, the boundary it would generate for that
 * node (`--_NmP-<baseBoundary>-Part_2`) and both parts. Handed over whole, it is one MIME node instead of
 * three; each node costs MailComposer a stream pipeline, an abort controller and random boundary material,
 * which measured about 6 % of a conversion. A test composes messages both ways and compares the bytes.
 */
export function alternativePart(baseBoundary: string, text: string, html: string): Buffer {
  const boundary = `--_NmP-${baseBoundary}-Part_2`;
  return Buffer.concat([
    Buffer.from(
      `Content-Type: multipart/alternative;\r\n boundary="${boundary}"\r\n\r\n--${boundary}\r\n`,
      'latin1',
    ),
    textPart('text/plain', text),
    Buffer.from(`\r\n--${boundary}\r\n`, 'latin1'),
    textPart('text/html', html),
    Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'),
  ]);
}
