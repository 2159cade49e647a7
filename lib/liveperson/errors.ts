/** Errors of the LivePerson client. Messages name the endpoint and status and never carry secrets. */

export class LivePersonError extends Error {
  constructor(
    message: string,
    readonly endpoint: string,
    readonly status?: number,
    /** True when a later run may succeed (429/5xx/network after retries were exhausted). */
    readonly transient = false,
    /** `too-large`: an answer over a configured size limit (it will not shrink on a retry). */
    readonly code?: 'too-large',
  ) {
    super(message);
    this.name = 'LivePersonError';
  }
}

const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());

function tryEncode(f: (s: string) => string, s: string): string | undefined {
  try {
    return f(s);
  } catch {
    return undefined; // a lone surrogate cannot be percent-encoded; the raw form is still redacted
  }
}

/**
 * Every form a secret can take when a server echoes a request back: as sent, percent-encoded (either hex
 * case), form-encoded (`+` for space), JSON-escaped, base64 and base64url (with or without padding).
 * Callers pass `id:secret` pairs too, so a Basic Authorization header (base64 of the pair) is caught.
 */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  const pct = tryEncode(encodeURIComponent, secret);
  const form = tryEncode((s) => new URLSearchParams({ x: s }).toString().slice(2), secret);
  const uri = tryEncode(encodeURI, secret);
  for (const f of [pct, form, uri]) {
    if (f === undefined) continue;
    forms.add(f);
    forms.add(lowerHex(f));
  }
  forms.add(JSON.stringify(secret).slice(1, -1));
  const bytes = Buffer.from(secret, 'utf8');
  for (const b of [bytes.toString('base64'), bytes.toString('base64url')]) {
    forms.add(b);
    forms.add(b.replace(/=+$/, ''));
  }
  return [...forms];
}

/**
 * Replaces every known secret (keys, secrets, tokens, bearer) in `text` with `***`, in every encoding
 * (`secretForms`), and OAuth header fields / query secrets / Basic credentials a server might echo back.
 */
export function redact(text: string, secrets: Iterable<string | undefined>): string {
  const forms = new Set<string>();
  for (const s of secrets) if (s && s.length >= 4) for (const f of secretForms(s)) forms.add(f);
  let out = text;
  // Longest first, so a secret inside a longer encoded form is not cut in half before that form matches.
  for (const f of [...forms].filter((f) => f.length >= 4).sort((a, b) => b.length - a.length)) {
    out = out.split(f).join('***');
  }
  return out
    .replace(/(oauth_[a-z_]+=)("?)[^",&\s]+/gi, '$1$2***')
    .replace(/(Bearer(?:\s|%20|\+)+)[A-Za-z0-9._~+/=%-]+/gi, '$1***')
    .replace(/(Basic(?:\s|%20|\+)+)[A-Za-z0-9+/=%_-]+/gi, '$1***')
    .replace(
      /((?:client_secret|access_token|refresh_token|temp_url_sig|sig)["']?\s*(?:[:=]|%3A|%3D)\s*["']?)[^"'&\s,}]+/gi,
      '$1***',
    );
}

/** A short, single-line excerpt of a response body for an error message. */
export function excerpt(body: string, max = 300): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
