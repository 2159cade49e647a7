/**
 * MIME parts handed to MailComposer ready-made (`raw`): the text and HTML transcripts and the in-memory
 * attachments (source record, previews, files a provider gave as a Buffer). Base64 with Node's native
 * encoder, wrapped at 76 columns exactly as MailComposer's own base64 encoder writes them (a property
 * test holds the bytes equal), at a fraction of the cost of its per-part encoder streams. Base64 rather
 * than quoted-printable for the text parts: exact for any text (no soft-break or trailing-space rules),
 * smaller for non-Latin scripts, and the cheapest encoding there is.
 */

const LINE = 76;

/** `data` as base64 lines of 76 characters joined by CRLF, the last one without a line break. */
export function base64Lines(data: Buffer): Buffer {
  const encoded = Buffer.from(data.toString('base64'), 'latin1');
  const lines = Math.ceil(encoded.length / LINE);
  if (lines <= 1) return encoded;
  const out = Buffer.allocUnsafe(encoded.length + 2 * (lines - 1));
  let to = 0;
  for (let from = 0; from < encoded.length; from += LINE) {
    if (from) {
      out[to++] = 0x0d;
      out[to++] = 0x0a;
    }
    to += encoded.copy(out, to, from, Math.min(from + LINE, encoded.length));
  }
  return out;
}

/** A whole base64 part: the given header lines (ASCII, CRLF-separated, no trailing CRLF), then the body. */
export function base64Part(headerLines: string, body: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`${headerLines}\r\nContent-Transfer-Encoding: base64\r\n\r\n`, 'latin1'),
    base64Lines(body),
  ]);
}

/** A text part (text/plain or text/html, UTF-8) in the same form as MailComposer writes one in base64. */
export function textPart(contentType: 'text/plain' | 'text/html', body: string): Buffer {
  return base64Part(`Content-Type: ${contentType}; charset=utf-8`, Buffer.from(body, 'utf8'));
}
