/**
 * The last failure of an archive message (or, for callers that key by it, a conversation). A queue
 * message that failed as a whole carries no error when it comes back or reaches the poison queue, so the
 * archive step stores the reason here, keyed by the message's own ID, and reads it back to decide whether
 * to split the group and to write the `failed` rows' reasons.
 */
import { RestError, type TableClient } from '@azure/data-tables';
import { safeKey } from '../ids.js';

export interface LastFailure {
  reason: string;
  /** Deliveries that had failed when this was written (the queue's dequeue count). */
  attempts: number;
  at: string;
  /**
   * Whether the failure may lie with one conversation of the group (a by-ID answer LivePerson refused, a
   * crash), so splitting the group can isolate it; false for failures that hit every conversation alike
   * (LivePerson unavailable, the users directory, storage).
   */
  splittable: boolean;
}

export class FailureMemory {
  private ensured?: Promise<unknown>;
  constructor(private readonly table: TableClient) {}

  private ensure() {
    this.ensured ??= this.table.createTable();
    return this.ensured;
  }

  /** `key`: a message ID or a conversation ID (any string; stored under its safeKey). */
  async remember(key: string, reason: string, attempt: number, splittable = false): Promise<void> {
    await this.ensure();
    await this.table.upsertEntity(
      {
        partitionKey: safeKey(key),
        rowKey: 'last',
        reason: reason.slice(0, 8000),
        attempts: attempt,
        at: new Date().toISOString(),
        splittable,
      },
      'Replace',
    );
  }

  async recall(key: string): Promise<LastFailure | undefined> {
    await this.ensure();
    try {
      const e = await this.table.getEntity<LastFailure>(safeKey(key), 'last');
      return {
        reason: String(e.reason),
        attempts: Number(e.attempts),
        at: String(e.at),
        splittable: e.splittable === true,
      };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async forget(key: string): Promise<void> {
    await this.ensure();
    try {
      await this.table.deleteEntity(safeKey(key), 'last');
    } catch (err) {
      if (!(err instanceof RestError && err.statusCode === 404)) throw err;
    }
  }
}
