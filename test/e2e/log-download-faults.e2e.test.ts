/**
 * Issue: a storage error during a log download crashed the worker (CSV) or returned a truncated log with
 * 200 that looked complete, then hung (NDJSON, JSON). Now the body ends, visibly incomplete (a last error
 * row or line; JSON left invalid), and the worker keeps serving.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { type Pipeline, startPipeline } from './pipeline-harness.js';

/** An HTTP proxy in front of Azurite's Table endpoint that can start failing table queries. */
async function tableProxy(target: URL) {
  const state = { failQueries: false, queries: 0 };
  const server = http.createServer((req, res) => {
    const isQuery = req.method === 'GET' && /\/[A-Za-z0-9]+\(\)/.test(req.url ?? '');
    if (isQuery) state.queries++;
    if (isQuery && state.failQueries && state.queries > 1) {
      req.socket.destroy(); // storage gone mid-download
      return;
    }
    const out = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    state,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((r) => server.close(r)),
  };
}

async function readBody(res: Response): Promise<{ text: string; aborted: boolean }> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, aborted: false };
      text += dec.decode(value, { stream: true });
    }
  } catch {
    return { text, aborted: true };
  }
}

describe('a storage failure during a log download', () => {
  let p: Pipeline;
  let proxy: Awaited<ReturnType<typeof tableProxy>>;
  const range = 'from=2024-01-01&to=2024-01-05';
  beforeAll(async () => {
    const conn = inject('storageConnection');
    const tableUrl = new URL(/TableEndpoint=([^;]+)/.exec(conn)![1]!);
    proxy = await tableProxy(tableUrl);
    const proxied = conn.replace(
      /TableEndpoint=http:\/\/[^/]+/,
      `TableEndpoint=http://127.0.0.1:${proxy.port}`,
    );
    p = await startPipeline({ connection: proxied, sandbox: { conversations: 0 } });
    const log = p.runtime.statusLog(silentLogger);
    const limit = pLimit(16);
    await Promise.all(
      Array.from({ length: 2500 }, (_, i) =>
        limit(() =>
          log.recordArchived({
            day: `2024-01-0${1 + (i % 5)}`,
            conversationId: `conv-${String(i).padStart(5, '0')}`,
            version: 'v1',
            status: 'archived',
            conversationStart: '2024-01-01T00:00:00.000Z',
            archivedAt: '2024-01-06T00:00:00.000Z',
            blobPath: `archive/x/${i}.eml`,
            size: 100,
            sha256: 'a'.repeat(64),
            addresses: [],
            counts: { messages: 1, files: 0, filesAttached: 0, participants: 1 },
          }),
        ),
      ),
    );
  }, 180_000);
  afterAll(async () => {
    await p?.stop();
    await proxy?.close();
  });

  it('CSV: ends with an #ERROR row instead of a log that looks complete', async () => {
    proxy.state.failQueries = true;
    proxy.state.queries = 0;
    const res = await p.get(`/api/log?${range}&format=csv`);
    expect(res.status).toBe(200);
    const { text } = await readBody(res);
    const lines = text.trim().split('\r\n');
    expect(lines.length).toBeLessThan(2501);
    expect(lines.at(-1)).toMatch(/^#ERROR,"log incomplete: /);
  }, 120_000);

  it('NDJSON: a last {"error"} line; JSON: never a valid, closed array', async () => {
    proxy.state.failQueries = true;
    proxy.state.queries = 0;
    const nd = await readBody(await p.get(`/api/log?${range}&format=ndjson`));
    expect(nd.text.trim().split('\n').length).toBeLessThan(2501);
    const last = JSON.parse(nd.text.trim().split('\n').at(-1)!);
    expect(last.error).toMatch(/^log incomplete: /);
    proxy.state.queries = 0;
    const js = await readBody(await p.get(`/api/log?${range}&format=json`));
    expect(() => JSON.parse(js.text)).toThrow();
    expect(js.text.trim().split('\n').at(-1)).toMatch(/^\{"error":"log incomplete: /);
  }, 120_000);

  it('the worker survives and serves the whole log once storage is back', async () => {
    proxy.state.failQueries = false;
    const res = await p.get(`/api/log?${range}&format=ndjson`);
    const { text, aborted } = await readBody(res);
    expect(aborted).toBe(false);
    expect(text.trim().split('\n')).toHaveLength(2500);
  }, 120_000);
});
