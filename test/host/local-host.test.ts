import { TableClient } from '@azure/data-tables';
import { app, type InvocationContext, output } from '@azure/functions';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type LocalHost, startLocalHost } from '../../dev/host/local-host.js';
import { b64, fastHostJson, memoryLogger, peekAll, pick, queues, settings, uid, waitFor } from './helpers.js';

const hosts: LocalHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

async function start(
  names: string[],
  opts: { hostJson?: unknown; logger?: ReturnType<typeof memoryLogger> } = {},
) {
  const host = await startLocalHost({
    functions: pick(...names),
    settings: settings(),
    hostJson: opts.hostJson ?? fastHostJson(),
    httpPort: 0,
    timers: false,
    blobPollIntervalMs: 100,
    logger: opts.logger ?? memoryLogger(),
  });
  hosts.push(host);
  return host;
}

const blobs = () => BlobServiceClient.fromConnectionString(inject('storageConnection'));
const table = (name: string) =>
  TableClient.fromConnectionString(inject('storageConnection'), name, { allowInsecureConnection: true });

describe('local host: timer → queue → blob → Event Grid blob trigger → table', () => {
  it('runs the whole chain through the real bindings', async () => {
    const id = uid();
    const workQueue = `h${id}-work`;
    const container = `h${id}-out`;
    const tableName = `H${id}Status`;
    const seen: { item: unknown; dequeueCount: unknown; id: unknown }[] = [];

    app.timer(`plan${id}`, {
      schedule: '0 0 0 1 1 *',
      return: output.storageQueue({ queueName: workQueue, connection: 'AzureWebJobsStorage' }),
      handler: (timer) => {
        expect(timer.isPastDue).toBe(false);
        return [
          { id: 'a', n: 1 },
          { id: 'b', n: 20 },
        ];
      },
    });
    const resultBlob = output.storageBlob({
      path: `${container}/{id}.json`,
      connection: 'AzureWebJobsStorage',
    });
    app.storageQueue(`work${id}`, {
      queueName: workQueue,
      connection: 'AzureWebJobsStorage',
      extraOutputs: [resultBlob],
      handler: (item: unknown, ctx: InvocationContext) => {
        seen.push({ item, dequeueCount: ctx.triggerMetadata?.dequeueCount, id: ctx.triggerMetadata?.id });
        const { id: itemId, n } = item as { id: string; n: number };
        ctx.extraOutputs.set(resultBlob, JSON.stringify({ id: itemId, doubled: n * 2 }));
      },
    });
    const statusRow = output.table({ tableName, connection: 'AzureWebJobsStorage' });
    app.storageBlob(`status${id}`, {
      path: `${container}/{name}`,
      source: 'EventGrid',
      connection: 'AzureWebJobsStorage',
      extraOutputs: [statusRow],
      handler: (blob: unknown, ctx: InvocationContext) => {
        expect(Buffer.isBuffer(blob)).toBe(true);
        ctx.extraOutputs.set(statusRow, {
          PartitionKey: 'p',
          RowKey: String(ctx.triggerMetadata?.name),
          Path: String(ctx.triggerMetadata?.blobTrigger),
          Body: (blob as Buffer).toString('utf8'),
        });
      },
    });

    const host = await start([`plan${id}`, `work${id}`, `status${id}`]);
    await host.runTimer(`plan${id}`);
    await host.idle();

    expect(seen.map((s) => s.item)).toEqual(
      expect.arrayContaining([
        { id: 'a', n: 1 },
        { id: 'b', n: 20 },
      ]),
    );
    expect(seen.every((s) => s.dequeueCount === 1 && typeof s.id === 'string')).toBe(true);
    const rows = [];
    for await (const e of table(tableName).listEntities()) rows.push(e);
    expect(rows.map((r) => [r.rowKey, r.Path, JSON.parse(String(r.Body))]).sort()).toEqual([
      ['a.json', `${container}/a.json`, { id: 'a', doubled: 2 }],
      ['b.json', `${container}/b.json`, { id: 'b', doubled: 40 }],
    ]);
    expect(await queues().getQueueClient(workQueue).getProperties()).toMatchObject({
      approximateMessagesCount: 0,
    });
    const of = (fn: string) => host.invocations().filter((i) => i.functionName === fn);
    expect(of(`work${id}`).map((i) => [i.ok, i.dequeueCount])).toEqual([
      [true, 1],
      [true, 1],
    ]);
    expect(of(`status${id}`).map((i) => i.ok)).toEqual([true, true]);
  });

  it('writes queue outputs base64-encoded, one message per array element', async () => {
    const id = uid();
    const out = `h${id}-out`;
    app.timer(`emit${id}`, {
      schedule: '0 0 0 1 1 *',
      return: output.storageQueue({ queueName: out, connection: 'AzureWebJobsStorage' }),
      handler: () => ['plain text', { x: 1 }],
    });
    const host = await start([`emit${id}`]);
    await host.runTimer(`emit${id}`);
    const raw = (
      await queues().getQueueClient(out).peekMessages({ numberOfMessages: 10 })
    ).peekedMessageItems.map((m) => m.messageText);
    expect(raw).toEqual([b64('plain text'), b64('{"x":1}')]);
  });

  it('with messageEncoding "none", reads and writes plain text', async () => {
    const id = uid();
    const inQ = `h${id}-in`;
    const outQ = `h${id}-out`;
    app.storageQueue(`plain${id}`, {
      queueName: inQ,
      connection: 'AzureWebJobsStorage',
      return: output.storageQueue({ queueName: outQ, connection: 'AzureWebJobsStorage' }),
      handler: (item: unknown) => ({ echoed: item }),
    });
    const host = await start([`plain${id}`], { hostJson: fastHostJson({ messageEncoding: 'none' }) });
    const q = queues().getQueueClient(inQ);
    await q.createIfNotExists();
    await q.sendMessage('{"k":"v"}');
    await host.idle();
    const raw = (await queues().getQueueClient(outQ).peekMessages()).peekedMessageItems.map(
      (m) => m.messageText,
    );
    expect(raw).toEqual(['{"echoed":{"k":"v"}}']);
  });

  it('fails an output whose {prop} the trigger payload cannot resolve, like the host', async () => {
    const id = uid();
    const inQ = `h${id}-in`;
    const blobOut = output.storageBlob({ path: `h${id}-c/{missing}.txt`, connection: 'AzureWebJobsStorage' });
    let ran = 0;
    app.storageQueue(`unresolved${id}`, {
      queueName: inQ,
      connection: 'AzureWebJobsStorage',
      extraOutputs: [blobOut],
      handler: () => {
        ran++;
      },
    });
    const host = await start([`unresolved${id}`], { hostJson: fastHostJson({ maxDequeueCount: 1 }) });
    const q = queues().getQueueClient(inQ);
    await q.createIfNotExists();
    await q.sendMessage(b64({ other: 1 }));
    await host.idle();
    expect(ran).toBe(0);
    expect(host.invocations()[0]?.error).toMatch(/no value for named parameter "missing"/);
    expect(await peekAll(`${inQ}-poison`)).toEqual(['{"other":1}']);
  });
});

describe('local host: queue retries and poison queue', () => {
  it('retries a failing message, shows dequeueCount, then moves it to <queue>-poison', async () => {
    const id = uid();
    const inQ = `h${id}-jobs`;
    const counts: unknown[] = [];
    app.storageQueue(`failing${id}`, {
      queueName: inQ,
      connection: 'AzureWebJobsStorage',
      handler: (_item: unknown, ctx: InvocationContext) => {
        counts.push(ctx.triggerMetadata?.dequeueCount);
        throw new Error('always fails');
      },
    });
    const logger = memoryLogger();
    const host = await start([`failing${id}`], { logger });
    const q = queues().getQueueClient(inQ);
    await q.createIfNotExists();
    await q.sendMessage(b64({ conversationId: 'c-1' }));
    await host.idle();

    expect(counts).toEqual([1, 2, 3]);
    expect(host.invocations().map((i) => [i.ok, i.dequeueCount, i.error])).toEqual([
      [false, 1, 'always fails'],
      [false, 2, 'always fails'],
      [false, 3, 'always fails'],
    ]);
    expect(await peekAll(`${inQ}-poison`)).toEqual(['{"conversationId":"c-1"}']);
    expect((await q.getProperties()).approximateMessagesCount).toBe(0);
    expect(logger.lines.some((l) => l.message.includes(`Moving message to queue '${inQ}-poison'`))).toBe(
      true,
    );
    expect(
      logger.lines.some((l) => l.level === 'error' && l.message.includes(`Functions.failing${id}`)),
    ).toBe(true);
  });

  it('a message that is not base64 fails and is poisoned instead of being processed as garbage', async () => {
    const id = uid();
    const inQ = `h${id}-raw`;
    let ran = 0;
    app.storageQueue(`strict${id}`, {
      queueName: inQ,
      connection: 'AzureWebJobsStorage',
      handler: () => {
        ran++;
      },
    });
    const host = await start([`strict${id}`], { hostJson: fastHostJson({ maxDequeueCount: 1 }) });
    const q = queues().getQueueClient(inQ);
    await q.createIfNotExists();
    await q.sendMessage('{not base64}');
    await host.idle();
    expect(ran).toBe(0);
    expect(host.invocations()[0]?.error).toMatch(/not valid base64/);
    const poison = await queues().getQueueClient(`${inQ}-poison`).peekMessages();
    expect(poison.peekedMessageItems.map((m) => m.messageText)).toEqual(['{not base64}']);
  });

  it('succeeds on a retry: the message is processed once successfully and not poisoned', async () => {
    const id = uid();
    const inQ = `h${id}-flaky`;
    let calls = 0;
    app.storageQueue(`flaky${id}`, {
      queueName: inQ,
      connection: 'AzureWebJobsStorage',
      handler: () => {
        calls++;
        if (calls === 1) throw new Error('transient');
      },
    });
    const host = await start([`flaky${id}`]);
    const q = queues().getQueueClient(inQ);
    await q.createIfNotExists();
    await q.sendMessage(b64('x'));
    await host.idle();
    expect(calls).toBe(2);
    expect(await peekAll(`${inQ}-poison`)).toEqual([]);
  });
});

describe('local host: Event Grid blob trigger', () => {
  it('redelivers after a failure, then never delivers the same blob version twice', async () => {
    const id = uid();
    const container = `h${id}-in`;
    const delivered: string[] = [];
    let failNext = true;
    app.storageBlob(`blob${id}`, {
      path: `${container}/{name}`,
      source: 'EventGrid',
      connection: 'AzureWebJobsStorage',
      handler: (blob: unknown, ctx: InvocationContext) => {
        delivered.push(`${ctx.triggerMetadata?.name}:${(blob as Buffer).toString()}`);
        if (failNext) {
          failNext = false;
          throw new Error('first delivery fails');
        }
      },
    });
    const host = await start([`blob${id}`]);
    const c = blobs().getContainerClient(container);
    await c.createIfNotExists();
    await c.getBlockBlobClient('one.eml').upload('v1', 2);
    await host.idle();
    expect(delivered).toEqual(['one.eml:v1', 'one.eml:v1']);

    // Several more scans find nothing new.
    await host.idle();
    await host.idle();
    expect(delivered).toEqual(['one.eml:v1', 'one.eml:v1']);

    // A changed blob is a new BlobCreated event.
    await c.getBlockBlobClient('one.eml').upload('v2', 2);
    await host.idle();
    expect(delivered).toEqual(['one.eml:v1', 'one.eml:v1', 'one.eml:v2']);
  });

  it('reports a blob that keeps failing on webjobs-blobtrigger-poison after maxDequeueCount', async () => {
    const id = uid();
    const container = `h${id}-bad`;
    let calls = 0;
    app.storageBlob(`badblob${id}`, {
      path: `${container}/{name}`,
      source: 'EventGrid',
      connection: 'AzureWebJobsStorage',
      handler: () => {
        calls++;
        throw new Error('cannot handle');
      },
    });
    const host = await start([`badblob${id}`], { hostJson: fastHostJson({ maxDequeueCount: 2 }) });
    const c = blobs().getContainerClient(container);
    await c.createIfNotExists();
    await c.getBlockBlobClient('x.eml').upload('x', 1);
    await host.idle();
    expect(calls).toBe(2);
    const poison = (await peekAll('webjobs-blobtrigger-poison')).map((m) => JSON.parse(m));
    expect(poison).toContainEqual(
      expect.objectContaining({
        FunctionId: `Host.Functions.badblob${id}`,
        ContainerName: container,
        BlobName: 'x.eml',
      }),
    );
  });
});

describe('local host: idle() and stop()', () => {
  it('idle() rejects while work is in flight and resolves once it is done', async () => {
    const id = uid();
    const inQ = `h${id}-slow`;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let started = false;
    app.storageQueue(`slow${id}`, {
      queueName: inQ,
      connection: 'AzureWebJobsStorage',
      handler: async () => {
        started = true;
        await gate;
      },
    });
    const host = await start([`slow${id}`]);
    const q = queues().getQueueClient(inQ);
    await q.createIfNotExists();
    await q.sendMessage(b64('go'));
    await waitFor(() => started, 'the handler to start');
    await expect(host.idle({ timeoutMs: 300 })).rejects.toThrow(/in flight/);
    release();
    await host.idle();
    expect(host.invocations().map((i) => i.ok)).toEqual([true]);
  });

  it('stop() waits for in-flight invocations and their outputs', async () => {
    const id = uid();
    const inQ = `h${id}-stop`;
    const outQ = `h${id}-after`;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let started = false;
    app.storageQueue(`stopper${id}`, {
      queueName: inQ,
      connection: 'AzureWebJobsStorage',
      return: output.storageQueue({ queueName: outQ, connection: 'AzureWebJobsStorage' }),
      handler: async () => {
        started = true;
        await gate;
        return 'done';
      },
    });
    const host = await start([`stopper${id}`]);
    const q = queues().getQueueClient(inQ);
    await q.createIfNotExists();
    await q.sendMessage(b64('go'));
    await waitFor(() => started, 'the handler to start');
    let stopped = false;
    const stopping = host.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(await peekAll(outQ)).toEqual(['done']);
    expect((await q.getProperties()).approximateMessagesCount).toBe(0);
  });

  it('can be started again after stop() and picks up messages sent meanwhile', async () => {
    const id = uid();
    const inQ = `h${id}-again`;
    const got: unknown[] = [];
    app.storageQueue(`again${id}`, {
      queueName: inQ,
      connection: 'AzureWebJobsStorage',
      handler: (item: unknown) => {
        got.push(item);
      },
    });
    const host = await start([`again${id}`]);
    await host.stop();
    const q = queues().getQueueClient(inQ);
    await q.createIfNotExists();
    await q.sendMessage(b64({ n: 1 }));
    await host.start();
    await host.idle();
    expect(got).toEqual([{ n: 1 }]);
  });

  it('reports a busy HTTP port clearly', async () => {
    const id = uid();
    app.http(`port${id}`, { methods: ['GET'], route: `port${id}`, handler: () => ({ body: 'x' }) });
    const first = await start([`port${id}`]);
    const port = Number(new URL(first.httpUrl).port);
    await expect(
      startLocalHost({
        functions: pick(`port${id}`),
        settings: settings(),
        hostJson: {},
        httpPort: port,
        logger: memoryLogger(),
      }),
    ).rejects.toThrow(`port ${port} is already in use`);
  });
});
