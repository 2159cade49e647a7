/**
 * Credentials → request headers. OAuth 1.0a API keys: HMAC-SHA1 per RFC 5849 via `oauth-1.0a`, signing
 * the exact URL including its query string (JSON bodies are not part of the signature). OAuth 2.0 client
 * credentials: a Sentinel v2 token, cached until shortly before its `exp`, refreshed single-flight.
 */
import { createHmac } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import { z } from 'zod';
import type { HttpCore, RequestAuth } from './http.js';

export interface OAuth1Keys {
  appKey: string;
  appSecret: string;
  accessToken: string;
  accessTokenSecret: string;
}

/** The OAuth1 Authorization header for one request. `nonce`/`timestamp` are injectable for test vectors. */
export function oauth1Header(
  keys: OAuth1Keys,
  method: string,
  url: string,
  fixed?: { nonce: string; timestamp: number },
): string {
  const oauth = new OAuth({
    consumer: { key: keys.appKey, secret: keys.appSecret },
    signature_method: 'HMAC-SHA1',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
  });
  if (fixed) {
    oauth.getNonce = () => fixed.nonce;
    oauth.getTimeStamp = () => fixed.timestamp;
  }
  // `url` includes the query string: the library folds its parameters into the signature base string.
  const data = oauth.authorize({ url, method }, { key: keys.accessToken, secret: keys.accessTokenSecret });
  return oauth.toHeader(data).Authorization;
}

export function oauth1Auth(keys: OAuth1Keys): RequestAuth {
  return { headers: async (method, url) => ({ authorization: oauth1Header(keys, method, url.href) }) };
}

const TokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.union([z.number(), z.string()]).optional(),
});

const DEFAULT_TOKEN_LIFETIME_MS = 60 * 60_000;
/** Refresh this long before expiry so a token never lapses mid-request. */
const REFRESH_MARGIN_MS = 2 * 60_000;

/** Reads `exp` (seconds) from a JWT payload without verifying it: only to schedule our own refresh. */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export class BearerTokenSource {
  private token: { value: string; refreshAt: number } | undefined;
  private inflight: Promise<string> | undefined;

  constructor(
    private readonly http: HttpCore,
    private readonly creds: { clientId: string; clientSecret: string },
    private readonly accountId: string,
    private readonly sentinelBase: (signal?: AbortSignal) => Promise<URL>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The current token, for scrubbing it from error messages. */
  current(): string | undefined {
    return this.token?.value;
  }

  /** Drops the cached token, unless another caller already replaced the rejected one. */
  invalidate(rejected?: string): void {
    if (rejected === undefined || this.token?.value === rejected) this.token = undefined;
  }

  async get(signal?: AbortSignal): Promise<string> {
    if (this.token && this.now() < this.token.refreshAt) return this.token.value;
    // Single flight: concurrent callers share one token request.
    this.inflight ??= this.fetchToken(signal).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchToken(signal?: AbortSignal): Promise<string> {
    const base = await this.sentinelBase(signal);
    const url = new URL(`/sentinel/api/v2/account/${encodeURIComponent(this.accountId)}/app/token`, base);
    const issuedAt = this.now();
    const body = await this.http.json(
      {
        endpoint: 'token',
        describe: 'sentinel token',
        method: 'POST',
        url,
        form: {
          client_id: this.creds.clientId,
          client_secret: this.creds.clientSecret,
          grant_type: 'client_credentials',
        },
        signal,
      },
      TokenResponseSchema,
    );
    const expiresIn = Number(body.expires_in);
    const expiry =
      jwtExpiry(body.access_token) ??
      (Number.isFinite(expiresIn) && expiresIn > 0 ? issuedAt + expiresIn * 1000 : undefined) ??
      issuedAt + DEFAULT_TOKEN_LIFETIME_MS;
    const lifetime = expiry - issuedAt;
    // Short-lived tokens: refresh at half-life rather than after they lapse.
    const refreshAt = expiry - Math.min(REFRESH_MARGIN_MS, Math.max(0, lifetime / 2));
    this.token = { value: body.access_token, refreshAt };
    return body.access_token;
  }

  auth(signal?: AbortSignal): RequestAuth {
    let used: string | undefined;
    return {
      headers: async () => {
        used = await this.get(signal);
        return { authorization: `Bearer ${used}` };
      },
      refresh: () => this.invalidate(used),
    };
  }
}
