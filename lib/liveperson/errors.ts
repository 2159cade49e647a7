/** Errors of the LivePerson client. Messages name the endpoint and status and never carry secrets. */

export class LivePersonError extends Error {
  constructor(
    message: string,
    readonly endpoint: string,
    readonly status?: number,
    /** True when a later run may succeed (429/5xx/network after retries were exhausted). */
    readonly transient = false,
  ) {
    super(message);
    this.name = 'LivePersonError';
  }
}

/**
 * Replaces every known secret (keys, secrets, tokens, bearer) in `text` with `***`, and OAuth header
 * fields / query secrets that might be echoed back by a server.
 */
export function redact(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join('***');
  }
  return out
    .replace(/(oauth_[a-z_]+=)("?)[^",&\s]+/gi, '$1$2***')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1***')
    .replace(
      /((?:client_secret|access_token|refresh_token|temp_url_sig)["']?\s*[:=]\s*["']?)[^"'&\s,}]+/gi,
      '$1***',
    );
}

/** A short, single-line excerpt of a response body for an error message. */
export function excerpt(body: string, max = 300): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
