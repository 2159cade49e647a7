/**
 * The last failure of each conversation's archive attempts. A poison message carries no error, so the
 * archive step stores its last reason here and the poison handler reads it back for the status log.
 */
import { RestError, type TableClient } from '@azure/data-tables';
import { keyPart } from '../statuslog/status-row.js';

export interface LastFailure {
  reason: string;
  attempts: number;
  at: string;
}

export class FailureMemory {
  private ensured?: Promise<unknown>;
  constructor(private readonly table: TableClient) {}

  private ensure() {
    this.ensured ??= this.table.createTable();
    return this.ensured;
  }

  async remember(conversationId: string, reason: string, attempt: number): Promise<void> {
    await this.ensure();
    await this.table.upsertEntity(
      {
        partitionKey: keyPart(conversationId),
        rowKey: 'last',
        reason: reason.slice(0, 8000),
        attempts: attempt,
        at: new Date().toISOString(),
      },
      'Replace',
    );
  }

  async recall(conversationId: string): Promise<LastFailure | undefined> {
    await this.ensure();
    try {
      const e = await this.table.getEntity<LastFailure>(keyPart(conversationId), 'last');
      return { reason: String(e.reason), attempts: Number(e.attempts), at: String(e.at) };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async forget(conversationId: string): Promise<void> {
    await this.ensure();
    try {
      await this.table.deleteEntity(keyPart(conversationId), 'last');
    } catch (err) {
      if (!(err instanceof RestError && err.statusCode === 404)) throw err;
    }
  }
}
