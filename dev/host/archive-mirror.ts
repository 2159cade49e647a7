import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { Logger } from '../../lib/log.js';

/** Containers the Functions runtime keeps for itself; nothing a user wants to open. */
const SYSTEM_CONTAINER = /^(azure-webjobs-|\$)/;

export interface ArchiveMirror {
  /** One pass over every container; returns how many blobs were written. */
  sync(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Dev-only: Azurite runs in memory under `npm start`, so every blob is also copied to
 * `<dir>/<container>/<blob path>` for the user to open, with one info line per new or changed item
 * (names and sizes only, never contents). Blob names that would escape `dir` are skipped.
 */
export function startArchiveMirror(opts: {
  blobs: BlobServiceClient;
  dir: string;
  logger: Logger;
  intervalMs?: number;
  /** Which containers to copy (default: all but the runtime's own). */
  include?: (container: string) => boolean;
}): ArchiveMirror {
  const root = path.resolve(opts.dir);
  const seen = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<number> | undefined;

  async function pass(): Promise<number> {
    let written = 0;
    for await (const c of opts.blobs.listContainers()) {
      if (SYSTEM_CONTAINER.test(c.name) || (opts.include && !opts.include(c.name))) continue;
      const container = opts.blobs.getContainerClient(c.name);
      for await (const b of container.listBlobsFlat()) {
        const key = `${c.name}/${b.name}`;
        const etag = b.properties.etag ?? '';
        if (seen.get(key) === etag) continue;
        const target = path.resolve(root, c.name, ...b.name.split('/'));
        if (!target.startsWith(root + path.sep)) {
          opts.logger.warn(`archive mirror: skipped ${key} (its name leaves ${root})`);
          seen.set(key, etag);
          continue;
        }
        const body = await container.getBlobClient(b.name).downloadToBuffer();
        await mkdir(path.dirname(target), { recursive: true });
        await writeFile(target, body);
        const updated = seen.has(key);
        seen.set(key, etag);
        written++;
        opts.logger.info(`${updated ? 'updated' : 'archived'} ${key}`, {
          bytes: body.length,
          file: path.relative(process.cwd(), target),
        });
      }
    }
    return written;
  }

  function sync(): Promise<number> {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  const tick = async () => {
    if (stopped) return;
    try {
      await sync();
    } catch (err) {
      opts.logger.warn('archive mirror: pass failed; retrying', { error: (err as Error).message });
    }
    if (!stopped) timer = setTimeout(tick, opts.intervalMs ?? 1000);
  };
  timer = setTimeout(tick, 0);

  return {
    sync,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => {});
    },
  };
}
