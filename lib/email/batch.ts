/**
 * Batch conversion on all cores: a small pool of worker threads, each running convertConversation.
 * Meant for offline/bulk work without hosted files (the CLI, back-fills from saved answers); the
 * archive step, which streams files, calls convertConversation directly.
 *
 * Throughput comes from keeping the workers busy and the main thread light: records go out a few per
 * message, each worker holds up to two such batches (it starts the next while the main thread takes the
 * last one's results), and every .eml comes back as a transferred ArrayBuffer, never copied.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { UsersDirectory } from '../liveperson/users-schema.js';
import { ConversionError, type ConversionResult, type ConvertOptions } from './convert.js';

export type BufferedConversion = Omit<ConversionResult, 'eml'> & { eml: Buffer };

export interface PoolWorkerData {
  users?: UsersDirectory;
  options: Pick<ConvertOptions, 'addressDomain' | 'messageIdDomain'>;
}
export interface PoolRequest {
  id: number;
  record: unknown;
  recordIndex?: number;
}
export type PoolResponse =
  | {
      id: number;
      ok: true;
      result: Omit<ConversionResult, 'eml' | 'sourceJson'>;
      /** The .eml followed by the source JSON, in one transferred buffer. */
      bytes: Uint8Array;
      emlLength: number;
    }
  | {
      id: number;
      ok: false;
      error: { message: string; field?: string; conversationId?: string; recordIndex?: number };
    };

export interface ConversionPool {
  readonly size: number;
  convert(record: unknown, recordIndex?: number): Promise<BufferedConversion>;
  close(): Promise<void>;
}

/** Records per message to a worker, and the most a worker holds at once (two batches). */
const BATCH = 4;
const DEPTH = 2 * BATCH;

/**
 * Compiled JS in production. From TypeScript sources (tsx, in development and benchmarks) the worker
 * first registers tsx's loader: Node 20 does not carry `--import` loader hooks into worker threads.
 */
function startWorker(workerData: PoolWorkerData): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./convert-worker.js', import.meta.url), { workerData });
  const entry = new URL('./convert-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export function createConversionPool(
  opts: { size?: number; users?: UsersDirectory } & Pick<
    ConvertOptions,
    'addressDomain' | 'messageIdDomain'
  > = {},
): ConversionPool {
  const size = Math.max(1, opts.size ?? availableParallelism());
  const workerData: PoolWorkerData = {
    users: opts.users,
    options: { addressDomain: opts.addressDomain, messageIdDomain: opts.messageIdDomain },
  };
  type Pending = { resolve: (r: BufferedConversion) => void; reject: (e: Error) => void };
  const pending = new Map<number, Pending>();
  const queue: PoolRequest[] = [];
  /** The ids each live worker holds, in the order it converts them. */
  const held = new Map<Worker, Set<number>>();
  let nextId = 0;
  let closed = false;

  const fail = (id: number, err: Error) => {
    pending.get(id)?.reject(err);
    pending.delete(id);
  };

  const send = (w: Worker, batch: PoolRequest[], ids: Set<number>) => {
    try {
      w.postMessage(batch);
      for (const r of batch) ids.add(r.id);
    } catch (err) {
      if (batch.length === 1) {
        // Not structured-cloneable (functions, symbols): that record fails, the worker stays free.
        fail(batch[0]?.id as number, toError(err));
        return;
      }
      for (const r of batch) send(w, [r], ids);
    }
  };

  const dispatch = () => {
    while (queue.length) {
      // The least loaded worker takes a fair share of what waits, so a short queue is spread out.
      let target: Worker | undefined;
      let load = DEPTH;
      for (const [w, ids] of held) {
        if (ids.size < load) {
          target = w;
          load = ids.size;
        }
      }
      if (!target) return;
      const n = Math.min(DEPTH - load, BATCH, Math.ceil(queue.length / held.size));
      send(target, queue.splice(0, n), held.get(target) as Set<number>);
    }
  };

  const settle = (res: PoolResponse) => {
    const p = pending.get(res.id);
    pending.delete(res.id);
    if (!p) return;
    if (res.ok) {
      const { buffer, byteOffset, byteLength } = res.bytes;
      const eml = Buffer.from(buffer, byteOffset, res.emlLength);
      const sourceJson = Buffer.from(buffer, byteOffset + res.emlLength, byteLength - res.emlLength);
      p.resolve({ ...res.result, sourceJson, eml });
      return;
    }
    const e = res.error;
    p.reject(
      e.field === undefined
        ? new Error(e.message)
        : new ConversionError(e.message, e.field, e.conversationId, e.recordIndex),
    );
  };

  const spawn = (): void => {
    const w = startWorker(workerData);
    const ids = new Set<number>();
    held.set(w, ids);
    w.on('message', (batch: PoolResponse[]) => {
      for (const res of batch) {
        ids.delete(res.id);
        settle(res);
      }
      dispatch();
    });
    // A worker that dies fails only the records it held; a fresh worker takes its place.
    let failure: Error | undefined;
    w.on('error', (err) => {
      failure = err;
    });
    w.on('exit', (code) => {
      held.delete(w);
      for (const id of ids) fail(id, failure ?? new Error(`conversion worker exited with code ${code}`));
      ids.clear();
      if (!closed) {
        spawn();
        dispatch();
      }
    });
  };
  for (let i = 0; i < size; i++) spawn();

  return {
    size,
    convert(record, recordIndex) {
      if (closed) return Promise.reject(new Error('conversion pool is closed'));
      const id = nextId++;
      return new Promise<BufferedConversion>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        queue.push({ id, record, recordIndex });
        // Submissions made in one go (Promise.all over a list) are batched before anything is sent.
        if (queue.length === 1) queueMicrotask(dispatch);
      });
    },
    async close() {
      closed = true;
      await Promise.all([...held.keys()].map((w) => w.terminate()));
      for (const p of pending.values()) p.reject(new Error('conversion pool closed'));
      pending.clear();
    },
  };
}
