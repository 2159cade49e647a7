/**
 * Header values written by us and handed to MailComposer ready-made, where its own encoder writes
 * something that Python's email parser (common in eDiscovery tooling) reads wrongly or flags:
 *
 * - Encoded-words (RFC 2047) are split only between words, never inside one. nodemailer cuts a display
 *   name into 30-byte pieces, so "Παπαδοπούλου" becomes two encoded-words; RFC 2047 joins them, but
 *   Python (`policy.default`, CPython gh-128110) keeps the fold between them and shows "Παπαδοπού λου".
 *   A whole display name fits one encoded-word up to 36 UTF-8 bytes (18 Greek or Cyrillic letters, 12
 *   CJK ones); a longer one is split after a space, which stays inside the first word, so RFC 2047
 *   decoders read it exactly. (Python then shows that one space twice; no letter is ever separated.)
 * - Attachment names use RFC 2231 (`filename*=utf-8''…`) in Content-Disposition, with a plain-ASCII
 *   fallback in Content-Type's `name`. nodemailer writes `name="=?UTF-8?B?…?="`, an encoded-word inside
 *   a quoted string, which RFC 2047 §5 forbids (Python reports a header defect). The fallback cannot sit
 *   beside `filename*` in the same header: Python flags that as a duplicate parameter.
 * - Message-ID and long tokens stay on the header line (a line may hold 998 octets), instead of an empty
 *   first line and the value folded onto the next.
 */

/** RFC 2047: an encoded-word is at most 75 characters; "=?UTF-8?B?" + "?=" leave 63 for base64. */
const WORD_BYTES = 45;
/**
 * In address headers, words of at most 60 characters (36 bytes), so the first one always fits on the
 * "From: " line: MailComposer folds address headers once more at 76 columns, and a longer first token
 * would be moved off the header line.
 */
const ADDRESS_WORD_BYTES = 36;
const TOKEN_MAX = 60;
const FOLD = 76;

const NEEDS_ENCODING = /[^\x20-\x7e]|=\?/;
const ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/;

let segmenter: Intl.Segmenter | undefined;

/** Characters of a word too long for one encoded-word, as grapheme clusters (so 👨‍👩‍👧 stays whole). */
function graphemes(s: string): string[] {
  segmenter ??= new Intl.Segmenter('und', { granularity: 'grapheme' });
  return Array.from(segmenter.segment(s), (g) => g.segment);
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');
const word = (s: string) => `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;

/**
 * `text` as a list of encoded-words, each holding whole words (a word's following space included), so
 * decoders that join adjacent encoded-words (RFC 2047 §6.2) and those that do not agree on every letter.
 */
export function encodedWords(text: string, maxBytes = WORD_BYTES): string[] {
  const out: string[] = [];
  let chunk = '';
  const flush = () => {
    if (chunk) out.push(word(chunk));
    chunk = '';
  };
  for (const token of text.match(/\S*\s*/g) ?? []) {
    if (!token) continue;
    if (utf8(chunk + token) <= maxBytes) {
      chunk += token;
      continue;
    }
    flush();
    if (utf8(token) <= maxBytes) {
      chunk = token;
      continue;
    }
    // One word longer than an encoded-word can hold: split it between grapheme clusters.
    for (const g of graphemes(token)) {
      if (chunk && utf8(chunk + g) > maxBytes) flush();
      chunk += g;
    }
  }
  flush();
  return out;
}

/** Joins tokens with single spaces, folding (CRLF + space) before a token that would pass 76 columns. */
export function fold(name: string, tokens: readonly string[]): string {
  let out = `${name}:`;
  let column = out.length;
  for (const t of tokens) {
    if (column + 1 + t.length > FOLD && column > name.length + 1) {
      out += `\r\n ${t}`;
      column = 1 + t.length;
    } else {
      out += ` ${t}`;
      column += 1 + t.length;
    }
  }
  return out;
}

/**
 * An unstructured header (Subject, X-…) as one finished line set, name included. `value` must already be
 * single-line (headerText). Printable ASCII stays as it is; anything else is encoded whole, as B
 * encoded-words split between words (some clients drop the spaces around a lone encoded-word).
 */
export function unstructuredHeader(name: string, value: string): string {
  if (!NEEDS_ENCODING.test(value)) return fold(name, value.split(' '));
  return fold(name, encodedWords(value));
}

/** The value part of unstructuredHeader, for MailComposer's `prepared` header values. */
export function preparedValue(name: string, value: string): { prepared: true; value: string } {
  return { prepared: true, value: unstructuredHeader(name, value).slice(name.length + 2) };
}

/**
 * A display name as the words of an RFC 5322 phrase: atoms, one quoted-string, or encoded-words; none
 * longer than 60 characters, so a fold can always come between them.
 */
export function displayNameWords(name: string): string[] {
  if (!NEEDS_ENCODING.test(name)) {
    const atoms = name.split(' ');
    if (atoms.every((a) => ATOM.test(a) && a.length <= TOKEN_MAX)) return atoms;
    const quoted = `"${name.replace(/[\\"]/g, '\\$&')}"`;
    if (quoted.length <= TOKEN_MAX) return [quoted];
  }
  return encodedWords(name, ADDRESS_WORD_BYTES);
}

/**
 * An address header's value (From, To), folded: each mailbox `Name <address>`, separated by commas.
 * Passed to MailComposer as it is (see compose() in convert.ts).
 */
export function addressHeaderValue(name: string, list: readonly { name: string; address: string }[]): string {
  const tokens: string[] = [];
  list.forEach((m, i) => {
    const last = i === list.length - 1 ? '' : ',';
    if (!m.name) {
      tokens.push(`${m.address}${last}`);
      return;
    }
    tokens.push(...displayNameWords(m.name), `<${m.address}>${last}`);
  });
  return fold(name, tokens).slice(name.length + 2);
}

/** RFC 2231 attribute-char: printable ASCII without space, `*`, `'`, `%` and the tspecials. */
const ATTRIBUTE_CHAR = /[A-Za-z0-9!#$&+.^_`|~-]/;
const TOKEN = /^[A-Za-z0-9!#$&'*+.^_`|~-]+$/;

function percentEncode(s: string): string[] {
  // One entry per character, so continuation sections never cut a character's escapes apart.
  const out: string[] = [];
  for (const ch of s) {
    if (ATTRIBUTE_CHAR.test(ch)) out.push(ch);
    else
      out.push(
        Array.from(Buffer.from(ch, 'utf8'), (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(
          '',
        ),
      );
  }
  return out;
}

/**
 * A parameter (`filename`, `name`) for a Content-* header, as `; name=…` pieces ready to be folded: a
 * token or quoted-string when the value is printable ASCII, else RFC 2231 `name*=utf-8''…` (with
 * `name*0*=`, `name*1*=` … continuations when long).
 */
export function parameter(name: string, value: string): string[] {
  if (!NEEDS_ENCODING.test(value) && value.length <= 60) {
    return [`${name}=${TOKEN.test(value) ? value : `"${value.replace(/[\\"]/g, '\\$&')}"`}`];
  }
  const chars = percentEncode(value);
  const first = `utf-8''`;
  const sections: string[] = [];
  let current = first;
  for (const c of chars) {
    if (current.length + c.length > 56 && current !== first) {
      sections.push(current);
      current = '';
    }
    current += c;
  }
  sections.push(current);
  if (sections.length === 1) return [`${name}*=${sections[0]}`];
  return sections.map((s, i) => `${name}*${i}*=${s}`);
}

/** A header value with parameters, each on its own folded line: `type;\r\n p1;\r\n p2`. */
export function withParameters(value: string, params: readonly string[]): string {
  return params.length ? `${value};\r\n ${params.join(';\r\n ')}` : value;
}

/**
 * A plain-ASCII stand-in for a file name, for readers that ignore RFC 2231: accents dropped (é → e),
 * every other character outside printable ASCII replaced, the extension kept.
 */
export function asciiFallback(filename: string, fallbackStem: string): string {
  if (!NEEDS_ENCODING.test(filename) && !/["\\]/.test(filename) && filename.length <= 60) return filename;
  const dot = filename.lastIndexOf('.');
  const ext = dot > 0 ? filename.slice(dot) : '';
  const stem = dot > 0 ? filename.slice(0, dot) : filename;
  const plain = (s: string) =>
    s
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^\x20-\x7e]+/g, '_')
      .replace(/["\\]/g, '_')
      .replace(/=\?/g, '=_')
      .replace(/\s+/g, ' ')
      .trim();
  let s = plain(stem);
  if (!/[A-Za-z0-9]/.test(s)) s = fallbackStem;
  const e = plain(ext);
  return `${s.slice(0, 60)}${/^\.[A-Za-z0-9]{1,8}$/.test(e) ? e : ''}`;
}
