/**
 * Write-once blob upload: the blob is created only if no blob of that name exists (If-None-Match: *), so
 * redelivery, repeated discovery and concurrent workers can never overwrite archived evidence.
 *
 * Streams in blocks (never holds the whole item in memory) and hashes while streaming. Written by hand
 * rather than with `uploadStream` because the SHA-256 must go into the blob metadata, which is only known
 * once the last byte has passed: staging blocks and committing the list with the metadata does that in one
 * atomic, conditional step. An item that fits one block (most do) goes up as one conditional Put Blob.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { RestError } from '@azure/storage-blob';

export type WriteOnceResult =
  | { created: true; size: number; sha256: string }
  | { created: false; reason: 'exists' };

const BLOCK_SIZE = 4 * 1024 * 1024;

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof RestError && (err.statusCode === 409 || err.statusCode === 412);
}

async function* blocks(source: Readable | Buffer, size: number): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(source)) {
    for (let i = 0; i < source.length; i += size) yield source.subarray(i, i + size);
    return;
  }
  let parts: Buffer[] = [];
  let held = 0;
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    parts.push(buf);
    held += buf.length;
    while (held >= size) {
      const all = Buffer.concat(parts);
      yield all.subarray(0, size);
      const rest = all.subarray(size);
      parts = rest.length ? [rest] : [];
      held = rest.length;
    }
  }
  if (held > 0) yield Buffer.concat(parts);
}

export async function writeOnce(
  container: ContainerClient,
  name: string,
  content: Readable | Buffer,
  opts: {
    contentType: string;
    /** Extra ASCII metadata; `sha256` and `size` are added from the bytes written. */
    metadata?: (written: { sha256: string; size: number }) => Record<string, string>;
    /**
     * Ask first whether the blob exists (default true), so a duplicate costs one HEAD, not an upload.
     * A caller that has just checked passes false: the conditional write still guarantees write-once.
     */
    precheck?: boolean;
  },
): Promise<WriteOnceResult> {
  const blob: BlockBlobClient = container.getBlockBlobClient(name);
  // The conditional writes below are what guarantee write-once under races; this only saves work.
  if (opts.precheck !== false && (await blob.exists())) {
    if (!Buffer.isBuffer(content)) content.destroy();
    return { created: false, reason: 'exists' };
  }
  const hash = createHash('sha256');
  const ids: string[] = [];
  // Unique per attempt, so two concurrent writers never commit each other's uncommitted blocks.
  const prefix = randomBytes(6).toString('hex');
  let size = 0;
  const metadataFor = (sha256: string) => ({
    ...(opts.metadata?.({ sha256, size }) ?? {}),
    sha256,
    size: String(size),
  });
  const source = blocks(content, BLOCK_SIZE)[Symbol.asyncIterator]();
  let next = await source.next();
  try {
    while (!next.done) {
      const block = next.value;
      hash.update(block);
      size += block.length;
      next = await source.next();
      if (next.done && ids.length === 0) {
        // The whole item is one block: one conditional Put Blob instead of Put Block + Put Block List.
        const sha256 = hash.digest('hex');
        await blob.upload(block, block.length, {
          conditions: { ifNoneMatch: '*' },
          blobHTTPHeaders: { blobContentType: opts.contentType },
          metadata: metadataFor(sha256),
        });
        return { created: true, size, sha256 };
      }
      const id = Buffer.from(`${prefix}-${String(ids.length).padStart(6, '0')}`).toString('base64');
      await blob.stageBlock(id, block, block.length);
      ids.push(id);
    }
    const sha256 = hash.digest('hex');
    await blob.commitBlockList(ids, {
      conditions: { ifNoneMatch: '*' },
      blobHTTPHeaders: { blobContentType: opts.contentType },
      metadata: metadataFor(sha256),
    });
    return { created: true, size, sha256 };
  } catch (err) {
    if (isAlreadyExists(err)) {
      await source.return?.(undefined);
      if (!Buffer.isBuffer(content)) content.destroy();
      return { created: false, reason: 'exists' };
    }
    throw err;
  }
}
