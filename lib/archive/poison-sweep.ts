/**
 * The last net under the poison handler: a message whose failure could not even be recorded (storage
 * unavailable every time the poison handler ran) ends in `<queue>-poison-poison`, which no trigger reads.
 * A timer sweeps that queue with the SDK and records each message, deleting it only once recorded; a
 * message that still cannot be recorded stays for the next sweep.
 */
import type { QueueClient } from '@azure/storage-queue';
import type { Logger } from '../log.js';

export interface SweepResult {
  recorded: number;
  left: number;
}

export async function sweepPoisonQueue(
  queue: QueueClient,
  record: (text: string) => Promise<unknown>,
  logger: Logger,
  opts: { maxMessages?: number; leaseSeconds?: number } = {},
): Promise<SweepResult> {
  const result: SweepResult = { recorded: 0, left: 0 };
  if (!(await queue.exists())) return result;
  const max = opts.maxMessages ?? 1000;
  while (result.recorded + result.left < max) {
    const { receivedMessageItems: batch } = await queue.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: opts.leaseSeconds ?? 300,
    });
    if (batch.length === 0) break;
    for (const m of batch) {
      try {
        await record(m.messageText);
        await queue.deleteMessage(m.messageId, m.popReceipt);
        result.recorded++;
      } catch (err) {
        // Left leased: it comes back after the lease, for the next sweep.
        result.left++;
        logger.warn('message in the last poison queue could not be recorded yet', {
          queue: queue.name,
          messageId: m.messageId,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }
  if (result.recorded + result.left > 0)
    logger.warn('swept the last poison queue', { queue: queue.name, ...result });
  return result;
}
