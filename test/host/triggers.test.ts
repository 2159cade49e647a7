import { app, type InvocationContext, output, type Timer } from '@azure/functions';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type LocalHost, type LocalHostOptions, startLocalHost } from '../../dev/host/local-host.js';
import { b64, fastHostJson, memoryLogger, peekAll, pick, queues, settings, uid, waitFor } from './helpers.js';

const hosts: LocalHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

async function start(names: string[], opts: Partial<LocalHostOptions> = {}) {
  const host = await startLocalHost({
    functions: pick(...names),
    settings: settings(),
    hostJson: fastHostJson(),
    httpPort: 0,
    timers: false,
    logger: memoryLogger(),
    ...opts,
  });
  hosts.push(host);
  return host;
}

describe('queue trigger concurrency', () => {
  it('fetches batchSize messages, and a new batch once in-flight work drops to newBatchThreshold', async () => {
    const id = uid();
    const inQ = `h${id}-many`;
    let active = 0;
    let peak = 0;
    const waiting: (() => void)[] = [];
    app.storageQueue(`many${id}`, {
      queueName: inQ,
      connection: 'AzureWebJobsStorage',
      handler: async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise<void>((r) => waiting.push(r));
        active--;
      },
    });
    const q = queues().getQueueClient(inQ);
    await q.createIfNotExists();
    for (let i = 0; i < 8; i++) await q.sendMessage(b64({ i }));
    const host = await start([`many${id}`], {
      hostJson: fastHostJson({ batchSize: 2, newBatchThreshold: 1 }),
    });
    try {
      await waitFor(() => active === 2, 'the first batch of two');
      await expect(host.idle({ timeoutMs: 400 })).rejects.toThrow(/in flight/);
      expect(peak).toBe(2); // 2 in flight > threshold 1: no new batch yet
      waiting.shift()!();
      await waitFor(() => active === 3, 'a second batch once one finished');
      await expect(host.idle({ timeoutMs: 400 })).rejects.toThrow(/in flight/);
      expect(peak).toBe(3); // batchSize + newBatchThreshold
    } finally {
      // Let everything finish whatever happened above, so stop() does not wait on blocked handlers.
      const drain = setInterval(() => {
        for (const r of waiting.splice(0)) r();
      }, 20);
      await host.idle().finally(() => clearInterval(drain));
    }
    expect(host.invocations().filter((i) => i.ok)).toHaveLength(8);
    expect(peak).toBe(3);
  });
});

describe('timer trigger', () => {
  it('fires on its NCRONTAB schedule with a Timer object and schedule status', async () => {
    const id = uid();
    const ticks: Timer[] = [];
    app.timer(`tick${id}`, {
      schedule: '* * * * * *',
      handler: (timer) => {
        ticks.push(timer);
      },
    });
    await start([`tick${id}`], { timers: true });
    await waitFor(() => ticks.length >= 2, 'two timer firings');
    expect(ticks[0]).toMatchObject({ isPastDue: false, schedule: { adjustForDST: true } });
    expect(ticks[0]!.scheduleStatus).toBeFalsy();
    expect(ticks[1]!.scheduleStatus).toMatchObject({ last: expect.any(String), next: expect.any(String) });
  });

  it('runs each timer once at start with runTimersOnStart', async () => {
    const id = uid();
    let runs = 0;
    app.timer(`boot${id}`, {
      schedule: '0 0 0 1 1 *',
      handler: () => {
        runs++;
      },
    });
    const host = await start([`boot${id}`], { runTimersOnStart: true });
    await host.idle();
    expect(runs).toBe(1);
  });

  it('applies the function retry policy and passes retryContext', async () => {
    const id = uid();
    const retryCounts: unknown[] = [];
    app.timer(`retry${id}`, {
      schedule: '0 0 0 1 1 *',
      retry: { strategy: 'fixedDelay', maxRetryCount: 2, delayInterval: { milliseconds: 10 } },
      handler: (_t, ctx: InvocationContext) => {
        retryCounts.push(ctx.retryContext?.retryCount);
        if (retryCounts.length < 3) throw new Error('not yet');
      },
    });
    const host = await start([`retry${id}`]);
    await host.runTimer(`retry${id}`);
    expect(retryCounts).toEqual([0, 1, 2]);
    expect(host.invocations().map((i) => i.ok)).toEqual([false, false, true]);
  });

  it('stop() cuts a pending timer retry delay short instead of waiting it out', async () => {
    const id = uid();
    let attempts = 0;
    app.timer(`patient${id}`, {
      schedule: '0 0 0 1 1 *',
      retry: { strategy: 'fixedDelay', maxRetryCount: 3, delayInterval: { minutes: 10 } },
      handler: () => {
        attempts++;
        throw new Error('down');
      },
    });
    const host = await start([`patient${id}`]);
    const run = host.runTimer(`patient${id}`);
    run.catch(() => {});
    await waitFor(() => attempts === 1, 'the first attempt');
    await host.stop();
    await expect(run).rejects.toThrow('down');
    expect(attempts).toBe(1);
  });

  it('rejects runTimer when the last attempt fails, naming the error', async () => {
    const id = uid();
    app.timer(`broken${id}`, {
      schedule: '0 0 0 1 1 *',
      handler: () => {
        throw new Error('LivePerson unreachable');
      },
    });
    const host = await start([`broken${id}`]);
    await expect(host.runTimer(`broken${id}`)).rejects.toThrow('LivePerson unreachable');
    await expect(host.runTimer('nope')).rejects.toThrow(/no timer function named "nope"/);
  });
});

describe('table output binding', () => {
  it('only creates: writing an existing row fails the invocation (then retries, then poison)', async () => {
    const id = uid();
    const inQ = `h${id}-rows`;
    const row = output.table({ tableName: `H${id}Rows`, connection: 'AzureWebJobsStorage' });
    app.storageQueue(`rows${id}`, {
      queueName: inQ,
      connection: 'AzureWebJobsStorage',
      extraOutputs: [row],
      handler: (item: unknown, ctx: InvocationContext) => {
        ctx.extraOutputs.set(row, { PartitionKey: 'p', RowKey: String((item as { k: string }).k) });
      },
    });
    const host = await start([`rows${id}`], {
      hostJson: fastHostJson({ maxDequeueCount: 2, batchSize: 1, newBatchThreshold: 0 }),
    });
    const q = queues().getQueueClient(inQ);
    await q.createIfNotExists();
    await q.sendMessage(b64({ k: 'same' }));
    await q.sendMessage(b64({ k: 'same' }));
    await host.idle();
    expect(host.invocations().map((i) => i.ok)).toEqual([true, false, false]);
    expect(await peekAll(`${inQ}-poison`)).toEqual(['{"k":"same"}']);
  });
});

describe('classic blob trigger (LogsAndContainerScan)', () => {
  it('delivers only blobs matching the path pattern, with name, properties and metadata', async () => {
    const id = uid();
    const container = `h${id}-scan`;
    const seen: Record<string, unknown>[] = [];
    app.storageBlob(`scan${id}`, {
      path: `${container}/in/{name}.txt`,
      connection: 'AzureWebJobsStorage',
      handler: (blob: unknown, ctx: InvocationContext) => {
        seen.push({ body: (blob as Buffer).toString(), ...ctx.triggerMetadata });
      },
    });
    const c = BlobServiceClient.fromConnectionString(inject('storageConnection')).getContainerClient(
      container,
    );
    await c.createIfNotExists();
    await c.getBlockBlobClient('in/a.txt').upload('A', 1, {
      metadata: { source: 'test' },
      blobHTTPHeaders: { blobContentType: 'text/plain' },
    });
    await c.getBlockBlobClient('other/b.txt').upload('B', 1);
    await c.getBlockBlobClient('in/c.json').upload('C', 1);
    const host = await start([`scan${id}`], { blobPollIntervalMs: 100 });
    await host.idle();
    expect(seen).toEqual([
      expect.objectContaining({
        body: 'A',
        name: 'a',
        blobTrigger: `${container}/in/a.txt`,
        uri: expect.stringContaining(`/${container}/in/a.txt`),
        metadata: { source: 'test' },
        properties: expect.objectContaining({ contentType: 'text/plain', contentLength: 1 }),
      }),
    ]);
  });
});
