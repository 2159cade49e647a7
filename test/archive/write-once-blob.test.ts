import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ArchivedBlobMetadataSchema, itemPaths, toBlobMetadata } from '../../lib/archive/blob-layout.js';
import { writeOnce } from '../../lib/archive/write-once-blob.js';

const container = BlobServiceClient.fromConnectionString(inject('storageConnection')).getContainerClient(
  `wo-${randomUUID().slice(0, 8)}`,
);
beforeAll(async () => {
  await container.create();
});

function chunks(total: number, chunk: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const n = Math.min(chunk, total - sent);
      this.push(Buffer.alloc(n, sent % 251));
      sent += n;
    },
  });
}

describe('writeOnce', () => {
  it('streams a multi-block item and records its SHA-256 and size in metadata', async () => {
    const total = 9 * 1024 * 1024 + 17; // three blocks
    const expected = createHash('sha256');
    for await (const c of chunks(total, 64 * 1024)) expected.update(c as Buffer);
    const res = await writeOnce(container, 'a/big.eml', chunks(total, 64 * 1024), {
      contentType: 'message/rfc822',
      metadata: () => ({ conversationid: 'c1' }),
    });
    expect(res).toMatchObject({ created: true, size: total, sha256: expected.digest('hex') });
    const props = await container.getBlobClient('a/big.eml').getProperties();
    expect(props.contentLength).toBe(total);
    expect(props.contentType).toBe('message/rfc822');
    expect(props.metadata).toMatchObject({
      conversationid: 'c1',
      sha256: res.created ? res.sha256 : '',
      size: String(total),
    });
  });

  it('never overwrites: a second write of the same name is reported and leaves the first bytes', async () => {
    const first = await writeOnce(container, 'same.eml', Buffer.from('first'), { contentType: 'text/plain' });
    const second = await writeOnce(container, 'same.eml', Buffer.from('second'), {
      contentType: 'text/plain',
    });
    expect(first.created).toBe(true);
    expect(second).toEqual({ created: false, reason: 'exists' });
    const body = await container.getBlobClient('same.eml').downloadToBuffer();
    expect(body.toString()).toBe('first');
  });

  it('without the HEAD first, a duplicate is still refused by the conditional write (one block or many)', async () => {
    for (const [name, make] of [
      ['nocheck-small.eml', (tag: string) => Buffer.from(tag)],
      ['nocheck-big.eml', (tag: string) => Buffer.alloc(5 * 1024 * 1024, tag)],
    ] as const) {
      const first = await writeOnce(container, name, make('a'), {
        contentType: 'text/plain',
        precheck: false,
      });
      const second = await writeOnce(container, name, make('b'), {
        contentType: 'text/plain',
        precheck: false,
      });
      expect(first.created, name).toBe(true);
      expect(second, name).toEqual({ created: false, reason: 'exists' });
      const body = await container.getBlobClient(name).downloadToBuffer();
      expect(body.subarray(0, 1).toString(), name).toBe('a');
    }
  });

  it('an item of one block is one Put Blob (no blocks staged), with its SHA-256 and size', async () => {
    const bytes = Buffer.from('x'.repeat(70_000));
    const res = await writeOnce(
      container,
      'one-shot.eml',
      Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]),
      {
        contentType: 'message/rfc822',
      },
    );
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(res).toEqual({ created: true, size: bytes.length, sha256 });
    const blob = container.getBlockBlobClient('one-shot.eml');
    expect((await blob.getBlockList('all')).committedBlocks ?? []).toEqual([]);
    expect((await blob.getProperties()).metadata).toMatchObject({ sha256, size: String(bytes.length) });
  });

  it.each([
    ['one block', 1000],
    ['several blocks', 9 * 1024 * 1024],
  ])(
    'concurrent writers of one name (%s): exactly one creates it, the content is one writer’s whole',
    async (_label, size) => {
      const writers = Array.from({ length: 6 }, (_, i) =>
        writeOnce(container, `race-${size}.eml`, Buffer.alloc(size, `writer-${i}-`), {
          contentType: 'text/plain',
          precheck: false,
        }),
      );
      const results = await Promise.all(writers);
      const winners = results.map((r, i) => (r.created ? i : -1)).filter((i) => i >= 0);
      expect(winners).toHaveLength(1);
      const body = await container.getBlobClient(`race-${size}.eml`).downloadToBuffer();
      expect(body.equals(Buffer.alloc(size, `writer-${winners[0]}-`))).toBe(true);
      const list: string[] = [];
      for await (const b of container.listBlobsFlat({ prefix: `race-${size}` })) list.push(b.name);
      expect(list).toEqual([`race-${size}.eml`]);
    },
  );
});

describe('blob layout', () => {
  it('paths by UTC start day, conversation and version', () => {
    expect(itemPaths('abc-1', new Date('2024-03-04T23:59:00Z'), 'f00d')).toEqual({
      eml: '2024/03/04/abc-1/f00d.eml',
      json: '2024/03/04/abc-1/f00d.json',
    });
  });

  it('any ID is one path segment, never altered in meaning: . and .. and / and whitespace are hashed apart', () => {
    const day = new Date('2024-03-04T09:00:00Z');
    const ids = ['.', '..', 'a/b', ' same-id', 'same-id', 'same-id ', '\ud800', '\udc00', 'x'.repeat(1100)];
    const dirs = ids.map((id) => itemPaths(id, day, 'v1').eml.split('/'));
    for (const parts of dirs) {
      expect(parts).toHaveLength(5);
      expect(['.', '..']).not.toContain(parts[3]);
      expect(parts[3]!.length).toBeLessThanOrEqual(120);
    }
    expect(new Set(dirs.map((d) => d[3])).size).toBe(ids.length);
    expect(itemPaths('same-id', day, 'v1').eml).toBe('2024/03/04/same-id/v1.eml');
    // A complete item and a partial one of the same version sit side by side.
    expect(itemPaths('c', day, 'v1.partial-ab12').eml).toBe('2024/03/04/c/v1.partial-ab12.eml');
  });

  it('metadata carries an ID with lone surrogates exactly (ASCII, round-trips)', () => {
    for (const id of ['\ud800', 'a\udc00b', '\ud83d\ude00 ok', '%u0041 literal', '100%']) {
      const meta = toBlobMetadata({
        conversationId: id,
        accountId: '123',
        version: 'v1',
        messageId: '<m@x>',
        status: 'CLOSE',
        startTime: new Date('2024-03-04T09:00:00Z'),
        addresses: [],
        counts: { messages: 0, files: 0, filesAttached: 0, participants: 0 },
        partialReasons: [],
      });
      expect(meta.conversationid).toMatch(/^[\x20-\x7e]*$/);
      expect(ArchivedBlobMetadataSchema.parse({ ...meta, sha256: 'a'.repeat(64) }).conversationid).toBe(id);
    }
  });

  it('metadata is ASCII and round-trips non-ASCII addresses and reasons', () => {
    const meta = toBlobMetadata({
      conversationId: 'c-1',
      accountId: '123',
      version: 'v1',
      messageId: '<c-1@x>',
      status: 'CLOSE',
      startTime: new Date('2024-03-04T09:00:00Z'),
      addresses: ['jöhn@exämple.com', 'a,b@x.com'],
      counts: { messages: 3, files: 1, filesAttached: 0, participants: 2 },
      partialReasons: ['file "ü.png" missing: 404'],
    });
    for (const v of Object.values(meta)) expect(v).toMatch(/^[\x20-\x7e]*$/);
    const back = ArchivedBlobMetadataSchema.parse({ ...meta, sha256: 'a'.repeat(64) });
    expect(back.addresses).toEqual(['jöhn@exämple.com', 'a,b@x.com']);
    expect(back.partialreasons).toEqual(['file "ü.png" missing: 404']);
    expect(back.messages).toBe(3);
  });
});
