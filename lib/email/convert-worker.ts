/**
 * Worker-thread side of the conversion pool (batch.ts): converts records without hosted files (a file
 * provider is a function and cannot cross threads) and hands back each whole .eml as transferable bytes.
 * Batches are converted one after another, in the order they came.
 */
import type { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import type { UsersDirectory } from '../liveperson/users-schema.js';
import type { PoolRequest, PoolResponse, PoolWorkerData } from './batch.js';
import { ConversionError, convertConversation } from './convert.js';

const data = workerData as PoolWorkerData;
const users: UsersDirectory | undefined = data.users;

/** Reads a stream whole; plain 'data' events cost less than an async iterator per chunk. */
function collect(stream: Readable): Promise<{ chunks: Buffer[]; length: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    stream.on('data', (c: Buffer) => {
      chunks.push(c);
      length += c.length;
    });
    stream.once('error', reject);
    stream.once('end', () => resolve({ chunks, length }));
  });
}

async function convertOne(req: PoolRequest, transfer: ArrayBuffer[]): Promise<PoolResponse> {
  try {
    const { eml, sourceJson, ...result } = await convertConversation(req.record, {
      ...data.options,
      users,
      recordIndex: req.recordIndex,
    });
    const { chunks, length } = await collect(eml);
    // One fresh ArrayBuffer of exactly the .eml and the source JSON: a Buffer may be a slice of Node's
    // shared allocation pool, and transferring that would detach every other Buffer living in it.
    const bytes = new Uint8Array(length + sourceJson.length);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    bytes.set(sourceJson, at);
    transfer.push(bytes.buffer);
    return { id: req.id, ok: true, result, bytes, emlLength: length };
  } catch (err) {
    return {
      id: req.id,
      ok: false,
      error:
        err instanceof ConversionError
          ? {
              message: err.message,
              field: err.field,
              conversationId: err.conversationId,
              recordIndex: err.recordIndex,
            }
          : { message: err instanceof Error ? err.message : String(err) },
    };
  }
}

const inbox: PoolRequest[][] = [];
let running = false;

async function drainInbox(): Promise<void> {
  running = true;
  for (let batch = inbox.shift(); batch; batch = inbox.shift()) {
    const transfer: ArrayBuffer[] = [];
    const out: PoolResponse[] = [];
    for (const req of batch) out.push(await convertOne(req, transfer));
    parentPort?.postMessage(out, transfer);
  }
  running = false;
}

parentPort?.on('message', (batch: PoolRequest[]) => {
  inbox.push(batch);
  if (!running) void drainInbox();
});
