import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { Logger } from '../../lib/log.js';
import { BLOB_CREATED, type BlobEventSource, type EventGridEvent } from './event-grid.js';

/** Containers the Functions runtime keeps for itself; nothing a user wants to open. */
const SYSTEM_CONTAINER = /^(azure-webjobs-|\$)/;
const BLOB_SUBJECT = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/;

export interface ArchiveMirror {
  /** Blobs being copied now. */
  readonly pending: number;
  /** Resolves once every copy started so far has finished. */
  idle(): Promise<void>;
  /** Stops taking events and waits for the copies under way. */
  stop(): Promise<void>;
}

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/**
 * Dev-only: copies every blob created in the local storage to `<dir>/<container>/<blob path>`, for the
 * user to open the `.eml` files. Driven by the same BlobCreated events as the app's Event Grid trigger
 * (never by listing), streamed to a temporary file and renamed into place, so a big blob is never held in
 * memory and a half-written file is never seen. One debug line per file (names and sizes, never contents).
 * Blob names that would escape `dir` are skipped.
 */
export function startArchiveMirror(opts: {
  events: BlobEventSource;
  /** Where to read the blobs from (Azurite directly: the copy is not the app's traffic). */
  blobs: BlobServiceClient;
  dir: string;
  logger: Logger;
  /** Which containers to copy (default: all but the runtime's own). */
  include?: (container: string) => boolean;
}): ArchiveMirror {
  const root = path.resolve(opts.dir);
  const copies = new Set<Promise<void>>();
  /** The last copy of each blob: copies of one blob run in order, so an older one never lands last. */
  const latest = new Map<string, Promise<void>>();

  async function copy(container: string, name: string, etag: string): Promise<void> {
    const key = `${container}/${name}`;
    const target = path.resolve(root, container, ...name.split('/'));
    if (!target.startsWith(root + path.sep)) {
      opts.logger.warn(`archive mirror: skipped ${key} (its name leaves ${root})`);
      return;
    }
    await mkdir(path.dirname(target), { recursive: true });
    const partial = `${target}.${randomBytes(4).toString('hex')}.partial`;
    try {
      // The version the event is about; if it was replaced meanwhile, that write has its own event.
      const res = await opts.blobs
        .getContainerClient(container)
        .getBlobClient(name)
        .download(0, undefined, etag ? { conditions: { ifMatch: etag } } : {});
      if (!res.readableStreamBody) throw new Error('no body');
      await pipeline(res.readableStreamBody, createWriteStream(partial));
      await rename(partial, target);
      opts.logger.debug(`archive copy: ${key}`, {
        bytes: res.contentLength,
        file: path.relative(process.cwd(), target),
      });
    } catch (err) {
      await rm(partial, { force: true });
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404 || status === 412) return; // deleted or replaced meanwhile
      opts.logger.warn(`archive mirror: ${key} not copied`, { error: (err as Error).message });
    }
  }

  const onEvent = (e: EventGridEvent) => {
    if (e.eventType !== BLOB_CREATED) return;
    const m = BLOB_SUBJECT.exec(e.subject);
    if (!m) return;
    const container = decode(m[1]!);
    if (SYSTEM_CONTAINER.test(container) || (opts.include && !opts.include(container))) return;
    const etag = String((e.data as { eTag?: unknown } | undefined)?.eTag ?? '');
    const name = m[2]!.split('/').map(decode).join('/');
    const key = `${container}/${name}`;
    const p: Promise<void> = (latest.get(key) ?? Promise.resolve())
      .then(() => copy(container, name, etag))
      .finally(() => {
        copies.delete(p);
        if (latest.get(key) === p) latest.delete(key);
      });
    latest.set(key, p);
    copies.add(p);
  };
  const unsubscribe = opts.events.subscribe(onEvent);

  const idle = async () => {
    while (copies.size) await Promise.allSettled([...copies]);
  };
  return {
    get pending() {
      return copies.size;
    },
    idle,
    async stop() {
      unsubscribe();
      await idle();
    },
  };
}
