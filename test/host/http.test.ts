import { TableClient } from '@azure/data-tables';
import { app, type HttpRequest, input, output } from '@azure/functions';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalHost, startLocalHost } from '../../dev/host/local-host.js';
import { fastHostJson, memoryLogger, pick, settings, uid } from './helpers.js';

const id = uid();
const tableName = `H${id}Rows`;
const rows = input.table({ tableName, connection: 'AzureWebJobsStorage' });
const audit = output.storageQueue({ queueName: `h${id}-audit`, connection: 'AzureWebJobsStorage' });

/** A CSV body produced chunk by chunk, as the log download does. */
async function* csv(lines: string[]) {
  for (const line of lines) yield new TextEncoder().encode(`${line}\n`);
}

app.http(`log${id}`, {
  methods: ['GET'],
  authLevel: 'function',
  route: `log${id}/{kind?}`,
  extraInputs: [rows],
  handler: (req: HttpRequest, ctx) => {
    const stored = ctx.extraInputs.get(rows) as { RowKey: string }[];
    return {
      status: 200,
      headers: { 'content-type': 'text/csv; charset=utf-8' },
      body: csv([
        'kind,from,to,rows',
        `${req.params.kind ?? 'all'},${req.query.get('from')},${req.query.get('to')},${stored.map((r) => r.RowKey).join('|')}`,
      ]),
    };
  },
});
app.http(`echo${id}`, {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: `echo${id}`,
  extraOutputs: [audit],
  handler: async (req, ctx) => {
    const body = await req.text();
    ctx.extraOutputs.set(audit, { size: body.length });
    return { status: 201, jsonBody: { got: body } };
  },
});
app.http(`boom${id}`, {
  methods: ['GET'],
  route: `boom${id}`,
  handler: () => {
    throw new Error('handler exploded');
  },
});

let host: LocalHost;
beforeAll(async () => {
  const t = TableClient.fromConnectionString(inject('storageConnection'), tableName, {
    allowInsecureConnection: true,
  });
  await t.createTable();
  await t.createEntity({ partitionKey: 'p', rowKey: 'r1' });
  await t.createEntity({ partitionKey: 'p', rowKey: 'r2' });
  host = await startLocalHost({
    functions: pick(`log${id}`, `echo${id}`, `boom${id}`),
    settings: settings(),
    hostJson: fastHostJson(),
    httpPort: 0,
    timers: false,
    logger: memoryLogger(),
  });
});
afterAll(async () => {
  await host?.stop();
});

describe('local host: HTTP triggers', () => {
  it('routes GET /api/<route> with query and optional route parameters, streaming the body', async () => {
    const res = await fetch(`${host.httpUrl}/api/log${id}/summary?from=2026-01-01&to=2026-02-01`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(await res.text()).toBe('kind,from,to,rows\nsummary,2026-01-01,2026-02-01,r1|r2\n');

    const all = await fetch(`${host.httpUrl}/api/log${id}?from=a&to=b`);
    expect(await all.text()).toContain('all,a,b,');
  });

  it('answers 404 for an unknown route or a method the function does not accept (as the host does)', async () => {
    expect((await fetch(`${host.httpUrl}/api/nothing-here`)).status).toBe(404);
    expect((await fetch(`${host.httpUrl}/api/log${id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${host.httpUrl}/log${id}`)).status).toBe(404);
  });

  it('passes a POST body, returns jsonBody and writes extra outputs', async () => {
    const res = await fetch(`${host.httpUrl}/api/echo${id}`, { method: 'POST', body: 'hello' });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ got: 'hello' });
    await host.idle();
    const q = QueueServiceClient.fromConnectionString(inject('storageConnection')).getQueueClient(
      `h${id}-audit`,
    );
    const [m] = (await q.peekMessages()).peekedMessageItems;
    expect(JSON.parse(Buffer.from(m!.messageText, 'base64').toString())).toEqual({ size: 5 });
  });

  it('answers 500 without details when the handler throws, and records the failure', async () => {
    const res = await fetch(`${host.httpUrl}/api/boom${id}`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('');
    expect(host.invocations().find((i) => i.functionName === `boom${id}`)).toMatchObject({
      ok: false,
      error: 'handler exploded',
    });
  });
});
