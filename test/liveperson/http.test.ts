import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLivePersonClient } from '../../lib/liveperson/client.js';
import { readLivePersonConfig } from '../../lib/liveperson/config.js';
import { LivePersonError } from '../../lib/liveperson/errors.js';
import {
  envFor,
  type FakeServer,
  fakeJwt,
  type Route,
  record,
  SECRETS,
  serveCsds,
  startFakeServer,
} from './support/fake-server.js';

const USERS = /\/configuration\/le-users\/users$/;
const TOKEN = /\/sentinel\/api\/v2\/account\/acct1\/app\/token$/;
const SEARCH = /\/conversations\/search$/;

let server: FakeServer;
beforeAll(async () => {
  server = await startFakeServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
  serveCsds(server);
});

/** Records requested pauses instead of sleeping, so retry behaviour is asserted by counts, not time. */
function recordingSleep() {
  const pauses: number[] = [];
  return { pauses, sleep: async (ms: number) => void pauses.push(ms) };
}

function clientWith(env: Record<string, string | undefined>, extra: { now?: () => number } = {}) {
  const s = recordingSleep();
  return {
    ...s,
    client: createLivePersonClient(readLivePersonConfig(envFor(server, env)), { sleep: s.sleep, ...extra }),
  };
}

const bearerOnly = { LP_APP_KEY: '', LP_APP_SECRET: '', LP_ACCESS_TOKEN: '', LP_ACCESS_TOKEN_SECRET: '' };

function serveUsers(handler: Route) {
  server.route('GET', USERS, handler);
}

describe('OAuth 2.0 bearer', () => {
  it('caches the token, refreshes it before expiry, single-flight under concurrency', async () => {
    let clock = 1_000_000_000_000;
    let issued = 0;
    server.route('POST', TOKEN, (req) => {
      expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
      const form = new URLSearchParams(req.body);
      expect(form.get('grant_type')).toBe('client_credentials');
      expect(form.get('client_secret')).toBe(SECRETS.LP_CLIENT_SECRET);
      issued++;
      return { json: { access_token: fakeJwt(clock / 1000 + 3600, issued), token_type: 'Bearer' } };
    });
    const seen: string[] = [];
    serveUsers((req) => {
      seen.push(String(req.headers.authorization));
      return { json: [{ id: 1, fullName: 'A' }] };
    });
    const { client } = clientWith({ ...bearerOnly, LP_USERS_REFRESH_MINUTES: '1' }, { now: () => clock });
    await Promise.all([client.getUsers(), client.getUsers(), client.getUsers()]);
    expect(server.count(TOKEN)).toBe(1);
    clock += 30 * 60_000; // half an hour: users cache expired, token still good
    await client.getUsers();
    expect(server.count(TOKEN)).toBe(1);
    clock += 29 * 60_000; // 59 min: inside the refresh margin, so a new token before the old one lapses
    await client.getUsers();
    expect(server.count(TOKEN)).toBe(2);
    expect(new Set(seen).size).toBe(2);
    expect(seen.every((h) => h.startsWith('Bearer '))).toBe(true);
  });

  it('concurrent calls share one token request', async () => {
    server.route('POST', TOKEN, async () => {
      await new Promise((r) => setTimeout(r, 50)); // keep the request open while the others arrive
      return { json: { access_token: fakeJwt(9e9, 1) } };
    });
    server.route('POST', /\/conversations\/conversation\/search$/, (req) => ({
      json: {
        _metadata: { count: 0 },
        conversationHistoryRecords: JSON.parse(req.body).conversationIds.map((id: string) => record(id, 1)),
      },
    }));
    const { client } = clientWith(bearerOnly);
    const ids = Array.from({ length: 350 }, (_, i) => `id${i}`);
    const map = await client.getConversationsById(ids);
    expect(map.size).toBe(350);
    expect(client.callCounts()).toMatchObject({ token: 1, byId: 4 });
  });

  it('fetching a token never deadlocks the concurrency cap (concurrency 1)', async () => {
    server.route('POST', TOKEN, () => ({ json: { access_token: fakeJwt(9e9, 1) } }));
    serveUsers(() => ({ json: [{ id: 3 }] }));
    const { client } = clientWith({ ...bearerOnly, LP_CONCURRENCY: '1', LP_TIMEOUT_MS: '2000' });
    const files = client.hostedFiles('c1');
    const [dir] = await Promise.all([
      client.getUsers(),
      files({ conversationId: 'c1', messageId: 'm', relativePath: '/a.png' }).catch(() => undefined),
    ]);
    await files.dispose();
    expect(dir.get('3')).toBeDefined();
    expect(server.count(TOKEN)).toBe(1);
  });

  it('retries a 401 exactly once with a fresh token', async () => {
    let issued = 0;
    server.route('POST', TOKEN, () => ({ json: { access_token: fakeJwt(9e9, ++issued) } }));
    serveUsers((req) =>
      String(req.headers.authorization).endsWith('sig1')
        ? { status: 401, json: { error: 'expired' } }
        : { json: [] },
    );
    const { client } = clientWith(bearerOnly);
    const dir = await client.getUsers();
    expect(dir.size).toBe(0);
    expect(server.count(TOKEN)).toBe(2);
    expect(server.count(USERS)).toBe(2);
  });

  it('a 401 that persists fails after one retry, naming the endpoint and status', async () => {
    let issued = 0;
    server.route('POST', TOKEN, () => ({ json: { access_token: fakeJwt(9e9, ++issued) } }));
    serveUsers(() => ({ status: 401, json: { error: 'nope' } }));
    const { client } = clientWith(bearerOnly);
    await expect(client.getUsers()).rejects.toThrow(/^LivePerson Users API answered 401/);
    expect(server.count(USERS)).toBe(2);
  });
});

describe('retries', () => {
  it('honours Retry-After on 429 and backs off from at least the base', async () => {
    serveUsers((_req, n) =>
      n <= 2 ? { status: 429, headers: { 'retry-after': '7' } } : { json: [{ id: '9' }] },
    );
    const { client, pauses } = clientWith({ LP_RETRY_BASE_MS: '1000' });
    const dir = await client.getUsers();
    expect(dir.get('9')).toBeDefined();
    expect(server.count(USERS)).toBe(3);
    expect(pauses).toHaveLength(2);
    expect(pauses.every((p) => p >= 7000)).toBe(true);
  });

  it('429 without Retry-After waits at least the base, growing', async () => {
    serveUsers((_req, n) => (n <= 3 ? { status: 429 } : { json: [] }));
    const { client, pauses } = clientWith({ LP_RETRY_BASE_MS: '1000' });
    await client.getUsers();
    expect(pauses).toHaveLength(3);
    expect(pauses[0]).toBeGreaterThanOrEqual(1000);
    expect(pauses[1]).toBeGreaterThanOrEqual(2000);
    expect(pauses[2]).toBeGreaterThanOrEqual(4000);
  });

  it('retries 5xx on the configured schedule, then fails clearly with the call count', async () => {
    serveUsers(() => ({ status: 503, body: 'upstream down' }));
    const { client, pauses } = clientWith({ LP_RETRY_PAUSES_MS: '5000,10000,15000', LP_MAX_ATTEMPTS: '4' });
    const err = await client.getUsers().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LivePersonError);
    expect((err as LivePersonError).message).toBe(
      'LivePerson Users API failed after 4 attempts; last answered 503: upstream down',
    );
    expect((err as LivePersonError).transient).toBe(true);
    expect(server.count(USERS)).toBe(4);
    expect(pauses).toEqual([5000, 10000, 15000]);
  });

  it('does not retry other 4xx', async () => {
    serveUsers(() => ({ status: 400, json: { message: 'bad select' } }));
    const { client, pauses } = clientWith({});
    await expect(client.getUsers()).rejects.toThrow(
      'LivePerson Users API answered 400: {"message":"bad select"}',
    );
    expect(server.count(USERS)).toBe(1);
    expect(pauses).toHaveLength(0);
  });

  it('times out a hanging call and retries it, then fails naming the timeout', async () => {
    serveUsers(() => 'hang');
    const { client } = clientWith({ LP_TIMEOUT_MS: '200', LP_MAX_ATTEMPTS: '2' });
    await expect(client.getUsers()).rejects.toThrow(
      /Users API failed after 2 attempts; last timed out after 200 ms/,
    );
    expect(server.count(USERS)).toBe(2);
  });

  it('retries a dropped connection', async () => {
    let n = 0;
    server.route('GET', USERS, () => {
      n++;
      return n === 1 ? 'reset' : { json: [] };
    });
    const { client, pauses } = clientWith({ LP_RETRY_PAUSES_MS: '5000' });
    await client.getUsers();
    expect(server.count(USERS)).toBe(2);
    expect(pauses).toEqual([5000]);
  });

  it('validates responses and names the bad field', async () => {
    serveUsers(() => ({ json: [{ fullName: 'no id' }] }));
    const { client } = clientWith({});
    await expect(client.getUsers()).rejects.toThrow(/Users API answered an unexpected shape at 0\.id/);
  });
});

describe('error messages never carry secrets', () => {
  it('scrubs keys, secrets and tokens echoed by the server', async () => {
    server.route('POST', TOKEN, (req) => ({ status: 400, body: `bad request: ${req.body}` }));
    serveUsers((req) => ({ status: 403, body: `denied ${req.headers.authorization}` }));
    const { client } = clientWith({});
    const usersErr = String(await client.getUsers().catch((e: unknown) => (e as Error).message));
    const fileErr = String(
      await client
        .hostedFiles('c')({ conversationId: 'c', messageId: 'm', relativePath: '/x.png' })
        .catch((e: unknown) => (e as Error).message),
    );
    expect(usersErr).toContain('answered 403');
    expect(fileErr).toContain('sentinel token answered 400');
    for (const secret of Object.values(SECRETS).filter((s) => s.includes('SECRET'))) {
      expect(usersErr).not.toContain(secret);
      expect(fileErr).not.toContain(secret);
    }
    expect(usersErr).not.toMatch(/oauth_signature="[^*]/);
  });

  it('scrubs a secret echoed percent-encoded, form-encoded (+ for space), JSON-escaped or as Basic base64 of id:secret', async () => {
    const secret = 'p@ss w/rd+ü&=SECRET';
    const id = 'client id';
    const echoes = [
      encodeURIComponent(secret),
      encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
      new URLSearchParams({ s: secret }).toString().slice(2),
      JSON.stringify(secret),
      `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
      Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64'),
      Buffer.from(secret).toString('base64url'),
    ];
    server.route('POST', TOKEN, () => ({ status: 400, body: `echo ${echoes.join(' | ')}` }));
    const { client } = clientWith({ LP_CLIENT_ID: id, LP_CLIENT_SECRET: secret, ...bearerOnly });
    const err = String(await client.getUsers().catch((e: unknown) => (e as Error).message));
    expect(err).toContain('sentinel token answered 400');
    for (const e of echoes) expect(err, e).not.toContain(e.replace(/^Basic /, ''));
    expect(err).not.toMatch(/SECRET/i);
  });
});

describe('answers are bounded in size', () => {
  it('refuses a JSON answer over LP_MAX_JSON_MB without reading it whole, naming the call and the setting', async () => {
    // 3 MB of valid JSON, streamed without a content-length so only the byte cap can stop it.
    const big = JSON.stringify([{ id: '1', fullName: 'x'.repeat(3 * 1024 * 1024) }]);
    serveUsers(() => ({
      body: big,
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    }));
    const { client } = clientWith({ LP_MAX_JSON_MB: '1' });
    const err = (await client.getUsers().catch((e: unknown) => e)) as LivePersonError;
    expect(err).toBeInstanceOf(LivePersonError);
    expect(err.message).toBe(
      'LivePerson Users API answered more than 1 MB of JSON (LP_MAX_JSON_MB); refused unread',
    );
    expect(err).toMatchObject({ code: 'too-large', transient: false, endpoint: 'users' });
  });

  it('refuses at once when the declared length is over the limit', async () => {
    serveUsers(() => ({ body: `[${'{"id":"1"},'.repeat(200_000)}{"id":"2"}]` }));
    const { client } = clientWith({ LP_MAX_JSON_MB: '1' });
    await expect(client.getUsers()).rejects.toMatchObject({ code: 'too-large' });
  });
});

describe('OAuth 1.0a on the wire', () => {
  it('signs msgHist calls with the API key and sends source, limit, sort', async () => {
    server.route('POST', SEARCH, () => ({
      json: { _metadata: { count: 1 }, conversationHistoryRecords: [record('c1', 5)] },
    }));
    const { client } = clientWith({ LP_SOURCE: 'Test_Archiver' });
    const pages = [];
    for await (const p of client.searchConversations({ start: { from: 0, to: 10 } })) pages.push(p);
    const req = server.requests.find((r) => SEARCH.test(r.path))!;
    expect(req.headers.authorization).toMatch(/^OAuth .*oauth_consumer_key="appkey-SECRET-1111"/);
    expect(req.query.get('source')).toBe('Test_Archiver');
    expect(req.query.get('limit')).toBe('100');
    expect(req.query.get('sort')).toBe('start:asc');
    expect(JSON.parse(req.body).contentToRetrieve).toContain('messageRecords');
    expect(client.callCounts()).toEqual({ csds: 1, search: 1 });
  });
});
