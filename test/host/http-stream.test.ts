import { app } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalHost, startLocalHost } from '../../dev/host/local-host.js';
import { fastHostJson, memoryLogger, pick, settings, uid } from './helpers.js';

// The app opts into HTTP streaming, as a function app would in its entry module: the host then proxies the
// request to the library's own HTTP server and pipes its streamed response back.
app.setup({ enableHttpStream: true });

const id = uid();
let releaseSecondChunk!: () => void;
const secondChunkReleased = new Promise<void>((r) => {
  releaseSecondChunk = r;
});

app.http(`stream${id}`, {
  methods: ['GET'],
  authLevel: 'function',
  route: `stream${id}`,
  handler: (req) => ({
    headers: { 'content-type': 'text/csv' },
    body: new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode(`from,${req.query.get('from')}\n`));
        await secondChunkReleased;
        controller.enqueue(new TextEncoder().encode('last\n'));
        controller.close();
      },
    }),
  }),
});
app.http(`upload${id}`, {
  methods: ['POST'],
  route: `upload${id}/{name}`,
  handler: async (req) => ({ status: 202, jsonBody: { name: req.params.name, body: await req.text() } }),
});
app.http(`fail${id}`, {
  methods: ['GET'],
  route: `fail${id}`,
  handler: () => {
    throw new Error('nope');
  },
});

let host: LocalHost;
beforeAll(async () => {
  host = await startLocalHost({
    functions: pick(`stream${id}`, `upload${id}`, `fail${id}`),
    settings: settings(),
    hostJson: fastHostJson(),
    httpPort: 0,
    timers: false,
    logger: memoryLogger(),
  });
});
afterAll(async () => {
  releaseSecondChunk();
  await host?.stop();
});

describe('local host: HTTP streaming (app.setup({ enableHttpStream: true }))', () => {
  it('delivers the first chunk before the handler has produced the rest', async () => {
    const res = await fetch(`${host.httpUrl}/api/stream${id}?from=2026-01-01`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv');
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('from,2026-01-01\n');
    releaseSecondChunk();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read())
      rest += new TextDecoder().decode(r.value);
    expect(rest).toBe('last\n');
  });

  it('streams a request body to the handler and passes route parameters', async () => {
    const res = await fetch(`${host.httpUrl}/api/upload${id}/report.csv`, {
      method: 'POST',
      body: 'a,b\n1,2\n',
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ name: 'report.csv', body: 'a,b\n1,2\n' });
  });

  it('answers 500 when the handler throws', async () => {
    expect((await fetch(`${host.httpUrl}/api/fail${id}`)).status).toBe(500);
  });
});
