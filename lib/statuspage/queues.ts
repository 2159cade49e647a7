/**
 * Queue depths for the status page: Azure's approximate message count of each queue the app uses and of
 * its poison queue (`<name>-poison`, where the Functions host moves a message after its last attempt).
 * A queue that does not exist yet (nothing was ever queued) reads as such, not as an error.
 */
import type { QueueClient } from '@azure/storage-queue';
import type { QueueDepth } from './model.js';

export type QueueRole = QueueDepth['role'];

export interface QueueReader {
  name: string;
  role: QueueRole;
  /** The approximate message count, or undefined if the queue does not exist. */
  approximateMessages(): Promise<number | undefined>;
}

export function queueReader(role: QueueRole, queue: QueueClient): QueueReader {
  return {
    name: queue.name,
    role,
    async approximateMessages() {
      try {
        return (await queue.getProperties()).approximateMessagesCount ?? 0;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return undefined;
        throw err;
      }
    },
  };
}

/** A queue and its poison queue, as the Functions host names it. */
export function queueWithPoison(
  role: 'archive' | 'delivery-plan' | 'delivery',
  name: string,
  client: (name: string) => QueueClient,
): QueueReader[] {
  return [queueReader(role, client(name)), queueReader(`${role}-poison`, client(`${name}-poison`))];
}

export async function readQueueDepths(readers: QueueReader[]): Promise<QueueDepth[]> {
  return Promise.all(
    readers.map(async (r): Promise<QueueDepth> => {
      try {
        const n = await r.approximateMessages();
        return n === undefined
          ? { name: r.name, role: r.role, exists: false }
          : { name: r.name, role: r.role, exists: true, approximateMessages: n };
      } catch (err) {
        return {
          name: r.name,
          role: r.role,
          exists: true,
          error: err instanceof Error ? err.message : String(err),
        };
      }
    }),
  );
}
