/**
 * Batch conversion on all cores: a small pool of worker threads, each running convertConversation.
 * Meant for offline/bulk work without hosted files (the CLI, back-fills from saved answers); the
 * archive step, which streams files, calls convertConversation directly.
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
  | { id: number; ok: true; result: Omit<ConversionResult, 'eml'>; eml: Uint8Array }
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
  const idle: Worker[] = [];
  const busy = new Map<Worker, number>();
  let nextId = 0;
  let closed = false;

  const dispatch = () => {
    while (idle.length && queue.length) {
      const w = idle.pop() as Worker;
      const req = queue.shift() as PoolRequest;
      try {
        w.postMessage(req);
        busy.set(w, req.id);
      } catch (err) {
        // Not structured-cloneable (functions, symbols): that record fails, the worker stays free.
        idle.push(w);
        pending.get(req.id)?.reject(err instanceof Error ? err : new Error(String(err)));
        pending.delete(req.id);
      }
    }
  };

  const workers = new Set<Worker>();
  const spawn = (): void => {
    const w = startWorker(workerData);
    workers.add(w);
    w.on('message', (res: PoolResponse) => {
      busy.delete(w);
      idle.push(w);
      const p = pending.get(res.id);
      pending.delete(res.id);
      if (p) {
        if (res.ok) {
          const eml = Buffer.from(res.eml.buffer, res.eml.byteOffset, res.eml.byteLength);
          // Structured clone turns Buffers into plain Uint8Arrays.
          const src = res.result.sourceJson as Uint8Array;
          const sourceJson = Buffer.from(src.buffer, src.byteOffset, src.byteLength);
          p.resolve({ ...res.result, sourceJson, eml });
        } else {
          const e = res.error;
          p.reject(
            e.field === undefined
              ? new Error(e.message)
              : new ConversionError(e.message, e.field, e.conversationId, e.recordIndex),
          );
        }
      }
      dispatch();
    });
    // A worker that dies fails only the record it held; a fresh worker takes its place.
    let failure: Error | undefined;
    w.on('error', (err) => {
      failure = err;
    });
    w.on('exit', (code) => {
      workers.delete(w);
      const at = idle.indexOf(w);
      if (at >= 0) idle.splice(at, 1);
      const id = busy.get(w);
      busy.delete(w);
      if (id !== undefined) {
        pending.get(id)?.reject(failure ?? new Error(`conversion worker exited with code ${code}`));
        pending.delete(id);
      }
      if (!closed) {
        spawn();
        dispatch();
      }
    });
    idle.push(w);
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
        dispatch();
      });
    },
    async close() {
      closed = true;
      await Promise.all([...workers].map((w) => w.terminate()));
      for (const p of pending.values()) p.reject(new Error('conversion pool closed'));
      pending.clear();
    },
  };
}
