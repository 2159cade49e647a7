/** Streaming base64 for item bodies: Node's Buffer codec applied chunk by chunk, carrying remainders. */
import { Transform } from 'node:stream';

/** Bytes → base64 text without line breaks (what Graph's importMime and contentBytes take). */
export function base64Encoder(): Transform {
  let carry = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const whole = buf.length - (buf.length % 3);
      carry = Buffer.from(buf.subarray(whole));
      done(null, whole ? buf.subarray(0, whole).toString('base64') : undefined);
    },
    flush(done) {
      done(null, carry.length ? carry.toString('base64') : undefined);
    },
  });
}

/** Length of the base64 text of `n` bytes (with padding, no line breaks). */
export function base64Length(n: number): number {
  return Math.ceil(n / 3) * 4;
}

/** Base64 text (line breaks and other whitespace ignored) → bytes. */
export function base64Decoder(): Transform {
  let carry = '';
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const text = carry + chunk.toString('latin1').replace(/[\r\n\t ]+/g, '');
      const whole = text.length - (text.length % 4);
      carry = text.slice(whole);
      done(null, whole ? Buffer.from(text.slice(0, whole), 'base64') : undefined);
    },
    flush(done) {
      done(null, carry.length ? Buffer.from(carry, 'base64') : undefined);
    },
  });
}

/** Bytes → base64 wrapped at 76 characters with CRLF (RFC 2045), for MIME bodies we write. */
export function base64MimeEncoder(): Transform {
  let carry = Buffer.alloc(0);
  // 57 bytes encode to exactly one 76-character line.
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const whole = buf.length - (buf.length % 57);
      carry = Buffer.from(buf.subarray(whole));
      if (!whole) return done();
      const lines: string[] = [];
      for (let i = 0; i < whole; i += 57) lines.push(buf.subarray(i, i + 57).toString('base64'));
      done(null, `${lines.join('\r\n')}\r\n`);
    },
    flush(done) {
      done(null, carry.length ? `${carry.toString('base64')}\r\n` : undefined);
    },
  });
}

/** Length of base64MimeEncoder's output for `n` bytes. */
export function base64MimeLength(n: number): number {
  if (n === 0) return 0;
  const lines = Math.ceil(n / 57);
  return base64Length(n) + lines * 2;
}
