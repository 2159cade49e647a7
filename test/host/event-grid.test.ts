import { randomUUID } from 'node:crypto';
import { app, type EventGridEvent, type InvocationContext } from '@azure/functions';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type BlobEventProxy, startBlobEventProxy } from '../../dev/host/blob-events-proxy.js';
import type { BlobEventSource, EventGridEvent as HostEvent } from '../../dev/host/event-grid.js';
import { type LocalHost, type LocalHostOptions, startLocalHost } from '../../dev/host/local-host.js';
import { fastHostJson, memoryLogger, pick, uid, waitFor } from './helpers.js';

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

async function proxy(): Promise<BlobEventProxy> {
  const p = await startBlobEventProxy({ upstream: inject('storageConnection'), logger: memoryLogger() });
  running.push({ stop: () => p.close() });
  return p;
}

/** A subscriptions file like infra/eventgrid-subscriptions.json, for one test function. */
const subscriptions = (fn: string, extra: Record<string, unknown> = {}) => ({
  subscriptions: [
    {
      name: `sub-${fn}`,
      function: fn,
      storageConnection: 'ArchiveStorage',
      includedEventTypes: ['Microsoft.Storage.BlobCreated'],
      subjectBeginsWith: '/blobServices/default/containers/%WATCHED%/blobs/',
      subjectEndsWith: '.eml',
      ...extra,
    },
  ],
});

async function host(
  fn: string,
  source: BlobEventSource,
  connection: string,
  container: string,
  opts: Partial<LocalHostOptions> = {},
): Promise<LocalHost> {
  const h = await startLocalHost({
    functions: pick(fn),
    settings: { AzureWebJobsStorage: connection, ArchiveStorage: connection, WATCHED: container },
    hostJson: fastHostJson(),
    httpPort: 0,
    timers: false,
    logger: memoryLogger(),
    blobEvents: source,
    eventGridSubscriptions: subscriptions(fn),
    eventGrid: { retryDelaysMs: [10, 20] },
    ...opts,
  });
  running.push(h);
  return h;
}

describe('Event Grid emulation: BlobCreated pushed by the blob event proxy', () => {
  it('delivers each created .eml once (each Put Blob and Put Block List), and nothing else', async () => {
    const id = uid();
    const watched = `eg${id}-in`;
    const other = `eg${id}-other`;
    const got: EventGridEvent[] = [];
    app.eventGrid(`eg${id}`, {
      handler: (event: EventGridEvent) => {
        got.push(event);
      },
    });
    const p = await proxy();
    // The proxy's events plus one injected event of another type, to see the subscription filter it out.
    const injected = new Set<(e: HostEvent) => void>();
    const source: BlobEventSource = {
      blobEndpoint: p.blobEndpoint,
      subscribe: (l) => {
        injected.add(l);
        const off = p.subscribe(l);
        return () => {
          injected.delete(l);
          off();
        };
      },
    };
    const h = await host(`eg${id}`, source, p.connectionString, watched);
    const blobs = BlobServiceClient.fromConnectionString(p.connectionString);
    const c = blobs.getContainerClient(watched);
    await c.createIfNotExists();
    await blobs.getContainerClient(other).createIfNotExists();
    const put = await c.getBlockBlobClient('2026/01/02/c-1/v1.eml').upload('one', 3, {
      blobHTTPHeaders: { blobContentType: 'message/rfc822' },
    });
    await c.getBlockBlobClient('2026/01/02/c-1/v1.json').upload('{}', 2);
    const staged = c.getBlockBlobClient('2026/01/02/c 2/v1.eml');
    await staged.stageBlock(Buffer.from('b1').toString('base64'), 'hello ', 6);
    await staged.stageBlock(Buffer.from('b2').toString('base64'), 'world', 5);
    const committed = await staged.commitBlockList(
      [Buffer.from('b1').toString('base64'), Buffer.from('b2').toString('base64')],
      { blobHTTPHeaders: { blobContentType: 'message/rfc822' } },
    );
    // Committing an already committed block again: its size is not among the staged ones (HEAD path).
    const recommitted = await staged.commitBlockList([Buffer.from('b1').toString('base64')]);
    await blobs.getContainerClient(other).getBlockBlobClient('x.eml').upload('x', 1);
    for (const l of injected)
      l({
        id: randomUUID(),
        topic: 't',
        subject: `/blobServices/default/containers/${watched}/blobs/deleted.eml`,
        eventType: 'Microsoft.Storage.BlobDeleted',
        eventTime: new Date().toISOString(),
        data: {},
        dataVersion: '',
        metadataVersion: '1',
      });
    await h.idle();

    expect(got.map((e) => e.subject).sort()).toEqual([
      `/blobServices/default/containers/${watched}/blobs/2026/01/02/c%202/v1.eml`,
      `/blobServices/default/containers/${watched}/blobs/2026/01/02/c%202/v1.eml`,
      `/blobServices/default/containers/${watched}/blobs/2026/01/02/c-1/v1.eml`,
    ]);
    const again = got.find((e) => (e.data as { eTag: string }).eTag === recommitted.etag);
    expect(again?.data).toMatchObject({ api: 'PutBlockList', contentLength: 6 });
    const byApi = Object.fromEntries(
      got.filter((e) => e !== again).map((e) => [(e.data as { api: string }).api, e]),
    );
    expect(byApi.PutBlob).toMatchObject({
      eventType: 'Microsoft.Storage.BlobCreated',
      topic: expect.stringMatching(
        /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/devstoreaccount1$/,
      ),
      dataVersion: '',
      metadataVersion: '1',
      eventTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      data: {
        api: 'PutBlob',
        eTag: put.etag,
        contentType: 'message/rfc822',
        contentLength: 3,
        blobType: 'BlockBlob',
        url: `${p.blobEndpoint}/${watched}/2026/01/02/c-1/v1.eml`,
        requestId: put.requestId,
        clientRequestId: expect.any(String),
        sequencer: expect.stringMatching(/^[0-9a-f]{32}$/),
        storageDiagnostics: { batchId: expect.any(String) },
      },
    });
    expect(byApi.PutBlockList?.data).toMatchObject({
      api: 'PutBlockList',
      eTag: committed.etag,
      contentLength: 11,
      contentType: 'message/rfc822',
    });
    // The sizes came from the requests (blocks as staged), except for the re-committed block.
    expect(p.operations().SizeLookup).toBe(1);
    // No listing anywhere: the events came from the writes themselves.
    expect(p.operations().ListBlobs ?? 0).toBe(0);
    expect(p.operations().ListContainers ?? 0).toBe(0);
  });

  it('retries a failing invocation with backoff, then dead-letters the event as Event Grid does', async () => {
    const id = uid();
    const watched = `eg${id}-bad`;
    const deadLetters = `eg${id}-dl`;
    const attempts: string[] = [];
    app.eventGrid(`egbad${id}`, {
      handler: (event: EventGridEvent) => {
        attempts.push(event.id);
        throw new Error('cannot record');
      },
    });
    let flakyCalls = 0;
    app.eventGrid(`egflaky${id}`, {
      handler: () => {
        flakyCalls++;
        if (flakyCalls === 1) throw new Error('transient');
      },
    });
    const p = await proxy();
    const h = await host(`egbad${id}`, p, p.connectionString, watched, {
      eventGridSubscriptions: subscriptions(`egbad${id}`, {
        maxDeliveryAttempts: 3,
        deadLetterContainer: deadLetters,
      }),
    });
    const c = BlobServiceClient.fromConnectionString(p.connectionString).getContainerClient(watched);
    await c.createIfNotExists();
    await c.getBlockBlobClient('a.eml').upload('a', 1);
    await h.idle();
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts).size).toBe(1); // the same event each time
    expect(h.invocations().map((i) => i.ok)).toEqual([false, false, false]);

    const dl = BlobServiceClient.fromConnectionString(inject('storageConnection')).getContainerClient(
      deadLetters,
    );
    const names: string[] = [];
    for await (const b of dl.listBlobsFlat()) names.push(b.name);
    expect(names).toEqual([
      expect.stringMatching(
        new RegExp(`^SUB-EGBAD${id.toUpperCase()}/\\d{4}/\\d{1,2}/\\d{1,2}/\\d{1,2}/[0-9a-f-]{36}\\.json$`),
      ),
    ]);
    const [dead] = JSON.parse((await dl.getBlobClient(names[0]!).downloadToBuffer()).toString());
    expect(dead).toMatchObject({
      id: attempts[0],
      subject: `/blobServices/default/containers/${watched}/blobs/a.eml`,
      eventType: 'Microsoft.Storage.BlobCreated',
      deadLetterReason: 'MaxDeliveryAttemptsExceeded',
      deliveryAttempts: 3,
      publishTime: expect.any(String),
      lastDeliveryAttemptTime: expect.any(String),
    });

    // A failure that passes: delivered again, not dead-lettered.
    const h2 = await host(`egflaky${id}`, p, p.connectionString, watched);
    await c.getBlockBlobClient('b.eml').upload('b', 1);
    await h2.idle();
    expect(flakyCalls).toBe(2);
    expect(h2.invocations().map((i) => i.ok)).toEqual([false, true]);
  });

  it('does not hold up the write, counts waiting events in idle(), and stop() drains them', async () => {
    const id = uid();
    const watched = `eg${id}-slow`;
    const deadLetters = `eg${id}-dl`;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const calls: number[] = [];
    app.eventGrid(`egslow${id}`, {
      handler: async (_e: EventGridEvent, ctx: InvocationContext) => {
        calls.push(Date.now());
        if (calls.length === 1) await gate;
        ctx.log('attempt', calls.length);
        throw new Error('still failing');
      },
    });
    const p = await proxy();
    const h = await host(`egslow${id}`, p, p.connectionString, watched, {
      eventGridSubscriptions: subscriptions(`egslow${id}`, { deadLetterContainer: deadLetters }),
      eventGrid: { retryDelaysMs: [600_000] },
    });
    const c = BlobServiceClient.fromConnectionString(p.connectionString).getContainerClient(watched);
    await c.createIfNotExists();
    // The upload completes while the subscriber is still busy with its event.
    await c.getBlockBlobClient('slow.eml').upload('s', 1);
    await waitFor(() => calls.length === 1, 'the first delivery');
    await expect(h.idle({ timeoutMs: 200 })).rejects.toThrow(/Event Grid event\(s\) pending/);
    release();
    // Now waiting 10 minutes for its retry: still pending.
    await expect(h.idle({ timeoutMs: 200 })).rejects.toThrow(/1 Event Grid event\(s\) pending/);
    expect((await h.activity()).eventsPending).toBe(1);
    await h.stop();
    expect(calls).toHaveLength(2); // stop() cut the wait short and tried once more
    const dl = BlobServiceClient.fromConnectionString(inject('storageConnection')).getContainerClient(
      deadLetters,
    );
    const reasons: string[] = [];
    for await (const b of dl.listBlobsFlat())
      reasons.push(
        JSON.parse((await dl.getBlobClient(b.name).downloadToBuffer()).toString())[0].deadLetterReason,
      );
    expect(reasons).toEqual(['LocalHostStopped']);
  });

  it('stop() lets a running invocation finish and still delivers the event of the blob it writes', async () => {
    const id = uid();
    const watched = `eg${id}-late`;
    const p = await proxy();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let writing = false;
    app.storageQueue(`eglatewriter${id}`, {
      queueName: `eg${id}-late`,
      connection: 'AzureWebJobsStorage',
      handler: async () => {
        writing = true;
        await gate;
        const c = BlobServiceClient.fromConnectionString(p.connectionString).getContainerClient(watched);
        await c.createIfNotExists();
        await c.getBlockBlobClient('late.eml').upload('l', 1);
      },
    });
    const seen: string[] = [];
    app.eventGrid(`eglate${id}`, {
      handler: (event: EventGridEvent) => {
        seen.push(event.subject);
      },
    });
    const h = await host(`eglate${id}`, p, p.connectionString, watched, {
      functions: pick(`eglate${id}`, `eglatewriter${id}`),
    });
    const q = QueueServiceClient.fromConnectionString(p.connectionString).getQueueClient(`eg${id}-late`);
    await q.createIfNotExists();
    await q.sendMessage(Buffer.from('{}').toString('base64'));
    await waitFor(() => writing, 'the writer to start');
    const stopped = h.stop();
    release();
    await stopped;
    expect(seen).toEqual([`/blobServices/default/containers/${watched}/blobs/late.eml`]);
  });
});
