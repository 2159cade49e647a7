/**
 * The discovery watermark per LivePerson account, in Table storage. Advanced only after every message of
 * a window is enqueued, with optimistic concurrency so two overlapping runs can never move it backwards.
 */
import { RestError, type TableClient } from '@azure/data-tables';

export interface Watermark {
  /** Every conversation updated before this instant (epoch ms) has been enqueued. */
  value: number;
  etag?: string;
}

const ROW = 'discovery';

export class WatermarkStore {
  private ensured?: Promise<unknown>;
  constructor(private readonly table: TableClient) {}

  private ensure() {
    this.ensured ??= this.table.createTable();
    return this.ensured;
  }

  async get(accountId: string): Promise<Watermark | undefined> {
    await this.ensure();
    try {
      const e = await this.table.getEntity<{ watermark: number }>(accountId, ROW);
      return { value: Number(e.watermark), ...(e.etag ? { etag: e.etag } : {}) };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  /**
   * Moves the watermark forward to `value`. Never backwards: if another run advanced it meanwhile (etag
   * mismatch), the greater value is kept.
   */
  async advance(accountId: string, value: number, previous: Watermark | undefined): Promise<number> {
    await this.ensure();
    const entity = {
      partitionKey: accountId,
      rowKey: ROW,
      watermark: value,
      updatedAt: new Date().toISOString(),
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        if (!previous) await this.table.createEntity(entity);
        else await this.table.updateEntity(entity, 'Replace', previous.etag ? { etag: previous.etag } : {});
        return value;
      } catch (err) {
        if (!(err instanceof RestError) || (err.statusCode !== 409 && err.statusCode !== 412)) throw err;
        previous = await this.get(accountId);
        if (previous && previous.value >= value) return previous.value;
      }
    }
    throw new Error(
      `Watermark for account ${accountId}: too much contention, not advanced (will retry next run)`,
    );
  }
}
