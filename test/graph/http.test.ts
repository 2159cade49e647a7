import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GraphError, GraphThrottledError, GraphUncertainError } from '../../lib/graph/errors.js';
import { assertGraphUrl } from '../../lib/graph/hosts.js';
import { GraphHttp, type GraphHttpSettings } from '../../lib/graph/http.js';
import { MailboxLimiter } from '../../lib/graph/mailbox-limiter.js';
import { type FakeServer, startFakeServer } from '../liveperson/support/fake-server.js';

let server: FakeServer;
beforeAll(async () => {
  server = await startFakeServer();
});
afterAll(async () => {
  await server.close();
});

const settings = (over: Partial<GraphHttpSettings> = {}): GraphHttpSettings => ({
  allowedHosts: [server.host],
  timeoutMs: 2000,
  maxAttempts: 4,
  maxInlineRetryAfterMs: 1500,
  maxResponseBytes: 64 * 1024,
  ...over,
});
const tokens = { token: async () => 'tok-123', invalidate() {} };
const pauses: number[] = [];
const http = (over: Partial<GraphHttpSettings> = {}) =>
  new GraphHttp(settings(over), {
    tokens,
    sleep: async (ms) => {
      pauses.push(ms);
    },
  });
const url = (p: string) => new URL(p, server.origin);

describe('assertGraphUrl', () => {
  it('allows Microsoft hosts of the right kind and explicit allow-list entries only', () => {
    expect(() => assertGraphUrl('https://graph.microsoft.com/v1.0/me', [], 'graph', 'x')).not.toThrow();
    expect(() => assertGraphUrl('https://login.microsoftonline.com/t', [], 'sign-in', 'x')).not.toThrow();
    expect(() =>
      assertGraphUrl('https://outlook.office.com/api/up?authtoken=1', [], 'upload', 'x'),
    ).not.toThrow();
    for (const bad of [
      'http://graph.microsoft.com/v1.0',
      'https://graph.microsoft.com:8443/v1.0',
      'https://graph.microsoft.com.evil.example/v1.0',
      'https://user:pw@graph.microsoft.com/',
      'https://evil.example/',
      'https://outlook.office.com/',
    ])
      expect(() => assertGraphUrl(bad, [], bad.includes('outlook') ? 'graph' : 'graph', 'x'), bad).toThrow(
        /Refusing/,
      );
    expect(() => assertGraphUrl('https://graph.microsoft.com/', [], 'upload', 'x')).toThrow(
      /not a Microsoft upload host/,
    );
    expect(() => assertGraphUrl('http://127.0.0.1:9/x', ['127.0.0.1:9'], 'graph', 'x')).not.toThrow();
  });
});

describe('GraphHttp', () => {
  it('sends the bearer token to Graph, never to an upload URL, and refuses other hosts before sending', async () => {
    server.route('GET', /^\/ok$/, () => ({ json: { fine: true } }));
    const res = await http().send({
      endpoint: 'e',
      describe: 'probe',
      method: 'GET',
      url: url('/ok'),
      host: 'graph',
      auth: true,
      idempotent: true,
    });
    expect(res.status).toBe(200);
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer tok-123');
    await expect(
      http().send({
        endpoint: 'e',
        describe: 'upload',
        method: 'PUT',
        url: url('/ok'),
        host: 'upload',
        auth: true,
        idempotent: true,
      }),
    ).rejects.toThrow(/refusing to send a token/);
    const before = server.requests.length;
    await expect(
      http({ allowedHosts: [] }).send({
        endpoint: 'e',
        describe: 'probe',
        method: 'GET',
        url: url('/ok'),
        host: 'graph',
        auth: true,
        idempotent: true,
      }),
    ).rejects.toThrow(/Refusing to contact/);
    expect(server.requests.length).toBe(before);
  });

  it('retries 429 honouring Retry-After, and hands a long Retry-After back to the caller', async () => {
    server.route('GET', /^\/busy$/, (_r, n) =>
      n < 3
        ? { status: 429, headers: { 'retry-after': '1' }, json: { error: { code: 'ApplicationThrottled' } } }
        : { json: {} },
    );
    pauses.length = 0;
    const res = await http().send({
      endpoint: 'busy',
      describe: 'busy',
      method: 'GET',
      url: url('/busy'),
      host: 'graph',
      auth: true,
      idempotent: true,
    });
    expect(res.status).toBe(200);
    expect(pauses).toEqual([1000, 1000]);
    server.route('POST', /^\/slow$/, () => ({
      status: 503,
      headers: { 'retry-after': '120' },
      json: { error: { code: 'ServiceUnavailable' } },
    }));
    const err = await http()
      .send({
        endpoint: 'slow',
        describe: 'slow',
        method: 'POST',
        url: url('/slow'),
        host: 'graph',
        auth: true,
        idempotent: false,
        body: { kind: 'json', value: {} },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphThrottledError);
    expect((err as GraphThrottledError).retryAfterMs).toBe(120_000);
  });

  it('never re-sends a create whose outcome is unknown; retries idempotent calls instead', async () => {
    server.route('POST', /^\/create$/, () => 'reset');
    const err = await http()
      .send({
        endpoint: 'create',
        describe: 'create',
        method: 'POST',
        url: url('/create'),
        host: 'graph',
        auth: true,
        idempotent: false,
        body: { kind: 'json', value: { a: 1 } },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphUncertainError);
    expect(server.count(/^\/create$/)).toBe(1);
    server.route('GET', /^\/flaky$/, (_r, n) =>
      n === 1 ? 'reset' : n === 2 ? { status: 502 } : { json: { ok: 1 } },
    );
    const ok = await http().send({
      endpoint: 'flaky',
      describe: 'flaky',
      method: 'GET',
      url: url('/flaky'),
      host: 'graph',
      auth: true,
      idempotent: true,
    });
    expect(ok.status).toBe(200);
    expect(server.count(/^\/flaky$/)).toBe(3);
  });

  it('names the Graph error code, never the token, and does not retry a 4xx', async () => {
    server.route('GET', /^\/denied$/, () => ({
      status: 403,
      json: { error: { code: 'ErrorAccessDenied', message: 'Access is denied. Bearer tok-123' } },
    }));
    const err = (await http()
      .send({
        endpoint: 'denied',
        describe: 'denied',
        method: 'GET',
        url: url('/denied'),
        host: 'graph',
        auth: true,
        idempotent: true,
      })
      .catch((e: unknown) => e)) as GraphError;
    expect(err).toBeInstanceOf(GraphError);
    expect(err.code).toBe('ErrorAccessDenied');
    expect(err.message).toContain('403 ErrorAccessDenied');
    expect(err.message).not.toContain('tok-123');
    expect(server.count(/^\/denied$/)).toBe(1);
  });

  it('streams a body of the declared length and caps what it reads back', async () => {
    server.route('POST', /^\/echo-size$/, (r) => ({ json: { got: r.body.length } }));
    const data = Buffer.alloc(300_000, 7);
    const res = await http().json(
      {
        endpoint: 'echo',
        describe: 'echo',
        method: 'POST',
        url: url('/echo-size'),
        host: 'graph',
        auth: true,
        idempotent: false,
        body: {
          kind: 'stream',
          contentType: 'text/plain',
          length: data.length,
          open: () => Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
        },
      },
      z.object({ got: z.number() }),
    );
    expect(res.data.got).toBe(300_000);
    server.route('GET', /^\/huge$/, () => ({ body: Buffer.alloc(200_000, 65) }));
    await expect(
      http().send({
        endpoint: 'huge',
        describe: 'huge answer',
        method: 'GET',
        url: url('/huge'),
        host: 'graph',
        auth: true,
        idempotent: false,
      }),
    ).rejects.toThrow(/larger than 65536 bytes/);
  });
});

describe('MailboxLimiter', () => {
  it('allows at most N concurrent requests per mailbox, independently per mailbox', async () => {
    const limiter = new MailboxLimiter({
      concurrency: 4,
      uploadBytes: 1e9,
      uploadWindowMs: 1000,
      requests: 1e6,
      requestWindowMs: 1000,
    });
    let active = 0;
    let max = 0;
    let maxB = 0;
    let activeB = 0;
    const work = (box: string) =>
      limiter.run(box, 0, async () => {
        if (box === 'a') max = Math.max(max, ++active);
        else maxB = Math.max(maxB, ++activeB);
        await new Promise((r) => setTimeout(r, 5));
        if (box === 'a') active--;
        else activeB--;
      });
    await Promise.all([
      ...Array.from({ length: 20 }, () => work('a')),
      ...Array.from({ length: 20 }, () => work('B')),
    ]);
    expect(max).toBe(4);
    expect(maxB).toBe(4);
  });

  it('keeps uploads within the byte budget of a sliding window', async () => {
    let now = 0;
    const waited: number[] = [];
    const limiter = new MailboxLimiter(
      { concurrency: 4, uploadBytes: 100, uploadWindowMs: 1000, requests: 1e6, requestWindowMs: 1000 },
      {
        now: () => now,
        sleep: async (ms) => {
          waited.push(ms);
          now += ms;
        },
      },
    );
    const starts: number[] = [];
    for (let i = 0; i < 5; i++) await limiter.run('m', 40, async () => void starts.push(now));
    // 40 + 40 fit the first window; each later one waits for the oldest to leave it.
    expect(starts[0]).toBe(0);
    expect(starts[1]).toBe(0);
    expect(starts[2]).toBeGreaterThanOrEqual(1000);
    expect(starts[3]).toBeGreaterThanOrEqual(1000);
    expect(starts[4]).toBeGreaterThanOrEqual(2000);
    // Never more than 100 bytes started within any 1 s window.
    for (const t of starts)
      expect(starts.filter((s) => s > t - 1000 && s <= t).length * 40).toBeLessThanOrEqual(100);
    expect(waited.length).toBeGreaterThan(0);
  });
});
