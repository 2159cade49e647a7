/**
 * Worker-thread side of the conversion pool (batch.ts): converts records without hosted files (a file
 * provider is a function and cannot cross threads) and hands back the whole .eml as transferable bytes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { UsersDirectory } from '../liveperson/users-schema.js';
import type { PoolRequest, PoolResponse, PoolWorkerData } from './batch.js';
import { ConversionError, convertConversation } from './convert.js';

const data = workerData as PoolWorkerData;
const users: UsersDirectory | undefined = data.users;

parentPort?.on('message', async (req: PoolRequest) => {
  let res: PoolResponse;
  try {
    const { eml, ...result } = await convertConversation(req.record, {
      ...data.options,
      users,
      recordIndex: req.recordIndex,
    });
    const chunks: Buffer[] = [];
    for await (const c of eml) chunks.push(c as Buffer);
    // A fresh ArrayBuffer of exactly the message: Buffer.concat may return a slice of Node's shared
    // allocation pool, and transferring that would detach every other Buffer living in it.
    const bytes = new Uint8Array(Buffer.concat(chunks));
    res = { id: req.id, ok: true, result, eml: bytes };
    parentPort?.postMessage(res, [bytes.buffer]);
    return;
  } catch (err) {
    res = {
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
  parentPort?.postMessage(res);
});
