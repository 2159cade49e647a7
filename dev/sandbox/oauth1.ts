/**
 * OAuth 1.0a request verification (RFC 5849 §3.4, HMAC-SHA1), written here on purpose instead of using the
 * client's signing library, so tests of the client against the sandbox are not circular.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface OAuth1Credentials {
  consumerKey: string;
  consumerSecret: string;
  token: string;
  tokenSecret: string;
}

/** RFC 3986 percent-encoding as RFC 5849 §3.6 requires (unreserved characters kept, everything else %XX). */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Decodes '+' as a literal plus (RFC 5849 §3.4.1.3.1 treats query strings as RFC 3986, not forms). */
function decode(value: string): string {
  return decodeURIComponent(value);
}

function decodeForm(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

export function parseAuthorizationHeader(header: string): Map<string, string> | undefined {
  const m = /^OAuth\s+(.*)$/is.exec(header.trim());
  if (!m) return undefined;
  const params = new Map<string, string>();
  for (const part of m[1]!.split(',')) {
    const kv = /^\s*([^=\s]+)\s*=\s*"([^"]*)"\s*$/.exec(part);
    if (!kv) continue;
    if (kv[1] === 'realm') continue;
    params.set(decode(kv[1]!), decode(kv[2]!));
  }
  return params;
}

/** §3.4.1: METHOD & base-string-URI & normalized parameters. */
export function signatureBaseString(
  method: string,
  url: URL,
  oauthParams: Map<string, string>,
  formBody?: string,
): string {
  const pairs: Array<[string, string]> = [];
  if (url.search.length > 1) {
    for (const part of url.search.slice(1).split('&')) {
      if (!part) continue;
      const i = part.indexOf('=');
      pairs.push(i < 0 ? [decode(part), ''] : [decode(part.slice(0, i)), decode(part.slice(i + 1))]);
    }
  }
  if (formBody) {
    for (const part of formBody.split('&')) {
      if (!part) continue;
      const i = part.indexOf('=');
      pairs.push(
        i < 0 ? [decodeForm(part), ''] : [decodeForm(part.slice(0, i)), decodeForm(part.slice(i + 1))],
      );
    }
  }
  for (const [k, v] of oauthParams) if (k !== 'oauth_signature') pairs.push([k, v]);
  const encoded = pairs.map(([k, v]) => [percentEncode(k), percentEncode(v)] as const);
  encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const normalized = encoded.map(([k, v]) => `${k}=${v}`).join('&');
  const defaultPort =
    (url.protocol === 'http:' && url.port === '80') || (url.protocol === 'https:' && url.port === '443');
  const host = url.hostname.toLowerCase() + (url.port && !defaultPort ? `:${url.port}` : '');
  const baseUri = `${url.protocol.toLowerCase()}//${host}${url.pathname}`;
  return [method.toUpperCase(), percentEncode(baseUri), percentEncode(normalized)].join('&');
}

export function hmacSha1Signature(baseString: string, consumerSecret: string, tokenSecret: string): string {
  const key = `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`;
  return createHmac('sha1', key).update(baseString).digest('base64');
}

export type OAuth1Result = { ok: true } | { ok: false; reason: string };

export interface OAuth1Request {
  method: string;
  /** The absolute URL the client signed (scheme, Host header, path and the exact query string). */
  url: URL;
  authorization: string;
  /** Only for application/x-www-form-urlencoded bodies (JSON bodies are not signed). */
  formBody?: string;
}

/** Verifies one request: consumer and token known, signature right, timestamp within ±5 min, nonce unused. */
export class OAuth1Verifier {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly credentials: OAuth1Credentials,
    private readonly nowSeconds: () => number,
    private readonly maxSkewSeconds = 300,
  ) {}

  verify(req: OAuth1Request): OAuth1Result {
    try {
      return this.check(req);
    } catch (err) {
      // Malformed percent-encoding in the header or the query string.
      if (err instanceof URIError) return { ok: false, reason: 'malformed request' };
      throw err;
    }
  }

  private check(req: OAuth1Request): OAuth1Result {
    const params = parseAuthorizationHeader(req.authorization);
    if (!params) return { ok: false, reason: 'not an OAuth header' };
    const c = this.credentials;
    if (params.get('oauth_signature_method') !== 'HMAC-SHA1')
      return { ok: false, reason: 'signature_method_rejected' };
    const version = params.get('oauth_version');
    if (version !== undefined && version !== '1.0') return { ok: false, reason: 'version_rejected' };
    if (params.get('oauth_consumer_key') !== c.consumerKey)
      return { ok: false, reason: 'consumer_key_rejected' };
    if (params.get('oauth_token') !== c.token) return { ok: false, reason: 'token_rejected' };
    const signature = params.get('oauth_signature');
    if (!signature) return { ok: false, reason: 'parameter_absent: oauth_signature' };
    const expected = hmacSha1Signature(
      signatureBaseString(req.method, req.url, params, req.formBody),
      c.consumerSecret,
      c.tokenSecret,
    );
    const a = Buffer.from(signature);
    const b = Buffer.from(expected);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, reason: 'signature_invalid' };
    const timestamp = Number(params.get('oauth_timestamp'));
    const now = this.nowSeconds();
    if (!Number.isFinite(timestamp) || Math.abs(now - timestamp) > this.maxSkewSeconds) {
      return { ok: false, reason: 'timestamp_refused' };
    }
    const nonce = params.get('oauth_nonce');
    if (!nonce) return { ok: false, reason: 'parameter_absent: oauth_nonce' };
    const key = `${timestamp}:${nonce}`;
    if (this.seen.has(key)) return { ok: false, reason: 'nonce_used' };
    this.seen.set(key, timestamp);
    if (this.seen.size > 10_000) this.prune(now);
    return { ok: true };
  }

  /** Nonces older than the skew window can't be replayed anyway (the timestamp check refuses them). */
  private prune(now: number): void {
    for (const [key, ts] of this.seen) if (Math.abs(now - ts) > this.maxSkewSeconds) this.seen.delete(key);
  }
}
