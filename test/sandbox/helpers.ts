/**
 * A tiny HTTP client for the sandbox tests. OAuth 1.0a signing uses the oauth-1.0a library, independent of
 * the sandbox's own verifier (dev/sandbox/oauth1.ts), so a passing test means two implementations agree.
 */
import { createHmac } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import type { Sandbox } from '../../dev/sandbox/index.js';

export function oauth1Header(
  sb: Sandbox,
  method: string,
  url: string,
  overrides: { secret?: string; timestampSeconds?: number } = {},
): string {
  const oauth = new OAuth({
    consumer: { key: sb.env.LP_APP_KEY!, secret: overrides.secret ?? sb.env.LP_APP_SECRET! },
    signature_method: 'HMAC-SHA1',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
  });
  const ts = overrides.timestampSeconds ?? Math.floor(sb.clock.now() / 1000);
  oauth.getTimeStamp = () => ts;
  const data = oauth.authorize(
    { url, method },
    { key: sb.env.LP_ACCESS_TOKEN!, secret: sb.env.LP_ACCESS_TOKEN_SECRET! },
  );
  return oauth.toHeader(data).Authorization;
}

export async function bearer(sb: Sandbox): Promise<string> {
  const res = await fetch(`${sb.url}/sentinel/api/v2/account/${sb.accountId}/app/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: sb.env.LP_CLIENT_ID!,
      client_secret: sb.env.LP_CLIENT_SECRET!,
      grant_type: 'client_credentials',
    }),
  });
  if (res.status !== 200) throw new Error(`token: HTTP ${res.status}`);
  const body = (await res.json()) as { access_token: string };
  return `Bearer ${body.access_token}`;
}

/** Raw API JSON, read field by field in assertions. */
// biome-ignore lint/suspicious/noExplicitAny: records are untyped JSON; assertions check the shape
export type Raw = any;

export interface SearchPage {
  _metadata: {
    count: number;
    self: { rel: string; href: string };
    next?: { rel: string; href: string };
    shardsStatusResult: { partialResult: boolean };
  };
  conversationHistoryRecords: Array<Record<string, Raw> & { info: Record<string, Raw> }>;
}

export const searchUrl = (sb: Sandbox, query: string) =>
  `${sb.url}/messaging_history/api/account/${sb.accountId}/conversations/search?${query}`;
export const byIdUrl = (sb: Sandbox, query = 'source=test') =>
  `${sb.url}/messaging_history/api/account/${sb.accountId}/conversations/conversation/search?${query}`;

export async function post(url: string, auth: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export async function search(sb: Sandbox, auth: string, body: unknown, query = 'source=test&limit=100') {
  const res = await post(searchUrl(sb, query), auth, body);
  if (res.status !== 200) throw new Error(`search: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as SearchPage;
}

/** Follows _metadata.next from offset 0; returns every record in order. Bounded by `maxPages`. */
export async function searchAll(
  sb: Sandbox,
  auth: string,
  body: unknown,
  query = 'source=test&limit=100',
  maxPages = 200,
) {
  const records: SearchPage['conversationHistoryRecords'] = [];
  let url: string | undefined = searchUrl(sb, query);
  let pages = 0;
  while (url && pages++ < maxPages) {
    const res = await post(url, auth, body);
    if (res.status !== 200) throw new Error(`search: HTTP ${res.status} ${await res.text()}`);
    const page = (await res.json()) as SearchPage;
    records.push(...page.conversationHistoryRecords);
    url = page._metadata.next?.href;
  }
  return records;
}

export const DAY = 24 * 60 * 60 * 1000;
/** A fixed sandbox clock start so runs are reproducible (2026-01-15T12:00:00Z). */
export const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
