/**
 * Text hygiene shared by the transcript renderers and the header builder. Everything that comes from a
 * conversation passes through one of these before it reaches MailComposer or the HTML.
 */

// C0 controls except \t and \n, DEL and C1 controls. \r is handled by line-ending normalisation first.
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
const HEADER_UNSAFE = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]+/g;

/** Unpaired surrogates → U+FFFD (String.prototype.toWellFormed is ES2024, available in Node 20). */
export function wellFormed(s: string): string {
  return (s as string & { toWellFormed(): string }).toWellFormed();
}

/**
 * The documented normalisation of message text: CRLF and lone CR become LF, control characters other
 * than \t and \n are removed, and unpaired surrogates (not encodable in UTF-8) become U+FFFD.
 */
export function normaliseText(s: string): string {
  return wellFormed(s).replace(/\r\n?/g, '\n').replace(CONTROL, '');
}

/** A single-line value safe for a header or a one-line label: no CR/LF/controls, whitespace collapsed. */
export function headerText(s: string | undefined): string {
  if (!s) return '';
  return wellFormed(s).replace(HEADER_UNSAFE, ' ').replace(/\s+/g, ' ').trim();
}

/**
 * headerText, cut to `max` code points with an ellipsis. Header values must stay short: MailComposer folds
 * only at spaces, so one long unbroken word would break the 998-octet line limit.
 */
export function clip(s: string | undefined, max: number): string {
  const t = headerText(s);
  if (t.length <= max) return t;
  const cps = Array.from(t);
  return cps.length <= max ? t : `${cps.slice(0, max - 1).join('')}…`;
}

/** LF → CRLF for bodies handed to MailComposer (cheaper than its `newline` transform). */
export function toCrlf(s: string): string {
  // Rendered bodies never hold a CR, and a plain string replaceAll is several times cheaper than the regex.
  return s.includes('\r') ? s.replace(/\r?\n/g, '\r\n') : s.replaceAll('\n', '\r\n');
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

const HTML_SPECIAL = /[&<>"']/;

/** Escapes the five HTML specials. Most values have none: those are returned as they are, with no copy. */
export function escapeHtml(s: string): string {
  const first = HTML_SPECIAL.exec(s);
  if (!first) return s;
  let out = s.slice(0, first.index);
  let from = first.index;
  for (let i = first.index; i < s.length; i++) {
    const rep = HTML_ESCAPES[s[i] as string];
    if (rep === undefined) continue;
    if (i > from) out += s.slice(from, i);
    out += rep;
    from = i + 1;
  }
  return from < s.length ? out + s.slice(from) : out;
}

/** http(s) and mailto links only; anything else (javascript:, data:, relative) is shown as text. */
export function safeLink(s: string | undefined): string | undefined {
  if (!s) return undefined;
  try {
    const u = new URL(s.trim());
    if (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'mailto:') return u.href;
  } catch {
    // not a URL: shown as text by the caller
  }
  return undefined;
}

// A conservative addr-spec: dot-atom local part and a DNS domain with a letter TLD. Anything LivePerson
// sends that is not this (placeholders, phone numbers, quoted local parts) is not trusted as a mailbox.
const EMAIL =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

/** The lower-cased address when `s` is a real, plain ASCII e-mail address; otherwise undefined. */
export function validEmail(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const t = s.trim();
  if (t.length > 254 || !EMAIL.test(t)) return undefined;
  const local = t.slice(0, t.lastIndexOf('@'));
  return local.length > 64 ? undefined : t.toLowerCase();
}

/** A domain name usable in synthetic addresses and Message-IDs. */
export function isValidDomain(s: string): boolean {
  return /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/.test(s);
}

/** A local-part / id fragment of only [a-z0-9._-] (lower case), never empty, at most `max` chars. */
export function safeToken(s: string, max = 48): string {
  const t = s
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.-]+|[.-]+$/g, '')
    .slice(0, max)
    .replace(/[.-]+$/g, '');
  return t || 'x';
}

// The "YYYY-MM-DD HH:MM:" of the last minute formatted: a conversation's messages mostly share it, so
// most calls only add the seconds instead of going through toISOString.
let lastMinute = Number.NaN;
let lastPrefix = '';

/** ISO-like UTC timestamp for transcripts: 2024-03-04 09:15:02 UTC. */
export function utc(ms: number | undefined): string {
  if (ms === undefined) return 'time unknown';
  // Date's own rules (TimeClip) without a Date: out of range or not finite is unknown, fractions cut.
  if (!(Math.abs(ms) <= 8.64e15)) return 'time unknown';
  const t = Math.trunc(ms) + 0;
  const minute = Math.floor(t / 60_000);
  if (minute !== lastMinute) {
    const iso = new Date(minute * 60_000).toISOString();
    // Years outside 0000-9999 have a signed six-digit form: formatted the long way, not cached.
    if (iso.length !== 24) return `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
    lastPrefix = iso.slice(0, 17).replace('T', ' ');
    lastMinute = minute;
  }
  const sec = Math.floor((t - minute * 60_000) / 1000);
  return `${lastPrefix}${sec < 10 ? '0' : ''}${sec} UTC`;
}

export function duration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h ? `${h}h ${m}m ${s}s` : m ? `${m}m ${s}s` : `${s}s`;
}
