import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, inject, it } from 'vitest';
import { classify, startBlobEventProxy } from '../../dev/host/blob-events-proxy.js';
import type { EventGridEvent } from '../../dev/host/event-grid.js';
import { memoryLogger, uid } from './helpers.js';

describe('blob event proxy: which writes raise BlobCreated', () => {
  it('Copy Blob raises it with the copy’s size; setting metadata does not', async () => {
    const proxy = await startBlobEventProxy({
      upstream: inject('storageConnection'),
      logger: memoryLogger(),
    });
    const events: EventGridEvent[] = [];
    proxy.subscribe((e) => events.push(e));
    try {
      const c = BlobServiceClient.fromConnectionString(proxy.connectionString).getContainerClient(
        `cp${uid()}`,
      );
      await c.createIfNotExists();
      const source = c.getBlockBlobClient('source.eml');
      await source.upload('hello', 5);
      await source.setMetadata({ a: 'b' });
      await (await c.getBlobClient('copy.eml').beginCopyFromURL(source.url)).pollUntilDone();
      // Azurite does not implement Put Blob From URL: it fails, and a failed write raises nothing.
      await expect(c.getBlockBlobClient('from-url.eml').syncUploadFromURL(source.url)).rejects.toThrow(
        /not implemented/i,
      );
      expect(
        events.map((e) => {
          const d = e.data as { api: string; contentLength: number };
          return [d.api, e.subject.split('/').at(-1), d.contentLength];
        }),
      ).toEqual([
        ['PutBlob', 'source.eml', 5],
        ['CopyBlob', 'copy.eml', 5],
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('names each Blob service request from its method, path and query', () => {
    const at = (m: string, url: string, h: Record<string, string> = {}) => {
      const op = classify(m, url, h);
      return [op.name, op.raises?.api, op.raises?.blob];
    };
    expect(at('PUT', '/acct/c/a/b%20c.eml')).toEqual(['PutBlob', 'PutBlob', 'a/b%20c.eml']);
    expect(at('PUT', '/acct/c/x.eml?comp=blocklist')).toEqual(['PutBlockList', 'PutBlockList', 'x.eml']);
    expect(at('PUT', '/acct/c/x.eml', { 'x-ms-copy-source': 'http://s' })).toEqual([
      'CopyBlob',
      'CopyBlob',
      'x.eml',
    ]);
    expect(
      at('PUT', '/acct/c/x.eml', { 'x-ms-copy-source': 'http://s', 'x-ms-blob-type': 'BlockBlob' }),
    ).toEqual(['PutBlobFromUrl', 'PutBlobFromUrl', 'x.eml']);
    expect(at('PUT', '/acct/c/x.eml?comp=block&blockid=QQ%3D%3D')).toEqual([
      'PutBlock',
      undefined,
      undefined,
    ]);
    expect(classify('PUT', '/acct/c/x.eml?comp=block&blockid=QQ%3D%3D', {}).stagedBlock).toEqual({
      key: 'c/x.eml',
      blockId: 'QQ==',
    });
    expect(at('PUT', '/acct/c/x.eml?comp=metadata')).toEqual(['PUT blob metadata', undefined, undefined]);
    expect(at('PUT', '/acct/c?restype=container')).toEqual(['PUT container', undefined, undefined]);
    expect(at('GET', '/acct/c?restype=container&comp=list')).toEqual(['ListBlobs', undefined, undefined]);
    expect(at('GET', '/acct?comp=list')).toEqual(['ListContainers', undefined, undefined]);
    expect(at('HEAD', '/acct/c/x.eml')).toEqual(['GetBlobProperties', undefined, undefined]);
  });
});
