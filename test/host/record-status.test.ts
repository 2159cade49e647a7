import { afterAll, describe, expect, inject, it } from 'vitest';
import { closedIds, type Pipeline, startPipeline } from '../e2e/pipeline-harness.js';

let pipeline: Pipeline | undefined;
afterAll(async () => {
  await pipeline?.stop();
});

describe('the app on the local host: recordStatus by Event Grid', () => {
  it('records every archived item through pushed events, with no List Blobs call during the run', async () => {
    pipeline = await startPipeline({
      connection: inject('storageConnection'),
      sandbox: { conversations: 10, seed: 3, spanDays: 2 },
    });
    await pipeline.discoverAndSettle();
    const closed = closedIds(pipeline.sandbox);
    expect(closed.length).toBeGreaterThan(2);
    const rows = await pipeline.statusRows();
    expect(rows.map((r) => r.conversationId).sort()).toEqual([...closed].sort());
    const recordStatus = pipeline.host.invocations().filter((i) => i.functionName === 'recordStatus');
    // One invocation per .eml (the .json beside each is filtered out by the subscription).
    expect(recordStatus).toHaveLength(closed.length);
    expect(recordStatus.every((i) => i.ok)).toBe(true);
    const ops = pipeline.blobEvents.operations();
    // Each item and its source JSON fit one block: one Put Blob each, whose request carries the size.
    expect(ops.PutBlob).toBe(2 * closed.length);
    expect(ops.PutBlockList ?? 0).toBe(0);
    expect(ops.SizeLookup ?? 0).toBe(0); // every size from the requests themselves
    expect(ops.ListBlobs ?? 0).toBe(0);
    expect(ops.ListContainers ?? 0).toBe(0);
  });
});
