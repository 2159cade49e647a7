/** A stored item as the mailbox importers read it: its size and byte ranges, streamed from the blob. */
import { Readable } from 'node:stream';
import type { BlobClient } from '@azure/storage-blob';

export interface ItemSource {
  size: number;
  /** Bytes [offset, offset + count) (to the end when count is omitted), streamed. */
  open(offset?: number, count?: number): Promise<Readable>;
}

export function blobItemSource(blob: BlobClient, size: number): ItemSource {
  return {
    size,
    async open(offset = 0, count?: number) {
      if (count === 0) return Readable.from([]);
      const res = await blob.download(offset, count);
      const body = res.readableStreamBody;
      if (!body) throw new Error(`blob ${blob.name} has no body`);
      return body as Readable;
    },
  };
}

export function bufferItemSource(bytes: Buffer): ItemSource {
  return {
    size: bytes.length,
    async open(offset = 0, count?: number) {
      return Readable.from([bytes.subarray(offset, count === undefined ? undefined : offset + count)]);
    },
  };
}
