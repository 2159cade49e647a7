/**
 * The status log table: idempotent upserts of item outcomes and paged date-range reads. Each write is an
 * upsert (Merge) so redelivered triggers and rescans converge on the same row.
 */
import { odata, RestError, type TableClient } from '@azure/data-tables';
import type { Logger } from '../log.js';
import {
  FAILED_VERSION,
  type ItemStatus,
  rowKey,
  type StatusRow,
  StatusRowSchema,
  UNREADABLE_VERSION,
  unreadableRowKey,
} from './status-row.js';

export interface ArchivedItem {
  day: string;
  conversationId: string;
  version: string;
  /**
   * The item's key (its blob name without `.eml`): the version, or `<version>.partial-<h>` for an item
   * missing files. Defaults to the blob name in `blobPath`, then the version.
   */
  itemKey?: string | undefined;
  accountId?: string | undefined;
  status: Extract<ItemStatus, 'archived' | 'partial'>;
  reason?: string | undefined;
  conversationStart: string;
  conversationEnd?: string | undefined;
  conversationStatus?: string | undefined;
  archivedAt: string;
  blobPath: string;
  size: number;
  sha256: string;
  addresses: string[];
  counts: { messages: number; files: number; filesAttached: number; participants: number };
}

export interface FailedItem {
  day: string;
  conversationId: string;
  accountId?: string | undefined;
  conversationStart?: string | undefined;
  reason: string;
  attempts?: number | undefined;
  /** Not recorded if an item of this conversation was archived after this instant (ISO). */
  unlessArchivedAfter?: string | undefined;
  /** The conversation's W3C trace context, when known. */
  traceparent?: string | undefined;
}

/** A queue message nothing could be read from: no conversation to name, so the body's fingerprint. */
export interface UnreadableMessage {
  /** The day it failed (yyyy-mm-dd): no conversation start is known. */
  day: string;
  queue: string;
  bodySha256: string;
  bodySize: number;
  reason: string;
  /** When it was found unreadable (ISO). */
  at: string;
}

/** The item key of an archived item: explicit, else its blob's file name, else its version. */
function itemKeyOf(item: ArchivedItem): string {
  if (item.itemKey) return item.itemKey;
  const file = item.blobPath.slice(item.blobPath.lastIndexOf('/') + 1);
  return file.endsWith('.eml') && file.length > 4 ? file.slice(0, -4) : item.version;
}

const isStatus = (err: unknown, ...codes: number[]) =>
  err instanceof RestError && codes.includes(err.statusCode ?? 0);

export class StatusLog {
  private ensured?: Promise<unknown>;
  constructor(
    private readonly table: TableClient,
    private readonly logger: Logger,
  ) {}

  ensure() {
    this.ensured ??= this.table.createTable();
    return this.ensured;
  }

  async recordArchived(item: ArchivedItem): Promise<void> {
    await this.ensure();
    await this.table.upsertEntity(
      {
        partitionKey: item.day,
        rowKey: rowKey(item.conversationId, itemKeyOf(item)),
        conversationId: item.conversationId,
        version: item.version,
        accountId: item.accountId,
        status: item.status,
        reason: item.reason ?? '',
        conversationStart: item.conversationStart,
        conversationEnd: item.conversationEnd ?? '',
        conversationStatus: item.conversationStatus ?? '',
        archivedAt: item.archivedAt,
        blobPath: item.blobPath,
        size: item.size,
        sha256: item.sha256,
        addresses: item.addresses.join('; '),
        messages: item.counts.messages,
        files: item.counts.files,
        filesAttached: item.counts.filesAttached,
        participants: item.counts.participants,
      },
      'Merge',
    );
    // A success supersedes an earlier failure of the same conversation.
    try {
      await this.table.deleteEntity(item.day, rowKey(item.conversationId, FAILED_VERSION));
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }

  async recordFailed(item: FailedItem): Promise<'recorded' | 'superseded'> {
    await this.ensure();
    if (item.unlessArchivedAfter) {
      for await (const row of this.conversationRows(item.day, item.conversationId)) {
        if (row.status !== 'failed' && row.archivedAt && row.archivedAt > item.unlessArchivedAfter) {
          this.logger.info('failure not recorded: conversation archived since', {
            conversationId: item.conversationId,
            version: row.version,
          });
          return 'superseded';
        }
      }
    }
    await this.table.upsertEntity(
      {
        partitionKey: item.day,
        rowKey: rowKey(item.conversationId, FAILED_VERSION),
        conversationId: item.conversationId,
        version: FAILED_VERSION,
        accountId: item.accountId,
        status: 'failed',
        reason: item.reason.slice(0, 8000),
        conversationStart: item.conversationStart ?? '',
        archivedAt: '',
        attempts: item.attempts ?? 1,
        ...(item.traceparent ? { traceparent: item.traceparent } : {}),
      },
      'Merge',
    );
    return 'recorded';
  }

  /**
   * A `failed` row for a queue message that names no conversation (not JSON, not the schema): keyed by
   * the SHA-256 of its body, so the same body found again lands on the same row.
   */
  async recordUnreadable(item: UnreadableMessage): Promise<void> {
    await this.ensure();
    await this.table.upsertEntity(
      {
        partitionKey: item.day,
        rowKey: unreadableRowKey(item.bodySha256),
        conversationId: '',
        version: UNREADABLE_VERSION,
        status: 'failed',
        reason: item.reason.slice(0, 8000),
        conversationStart: '',
        archivedAt: '',
        failedAt: item.at,
        queue: item.queue,
        bodySha256: item.bodySha256,
        bodySize: item.bodySize,
      },
      'Merge',
    );
  }

  /**
   * Counts one more skipped duplicate on the item's row (optimistic concurrency: no lost increments).
   * `version` is the item key (the version, or `<version>.partial-<h>`).
   */
  async countDuplicate(day: string, conversationId: string, version: string): Promise<void> {
    await this.ensure();
    const rk = rowKey(conversationId, version);
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        const row = await this.table.getEntity<{ duplicatesSkipped?: number }>(day, rk);
        await this.table.updateEntity(
          { partitionKey: day, rowKey: rk, duplicatesSkipped: Number(row.duplicatesSkipped ?? 0) + 1 },
          'Merge',
          { etag: row.etag },
        );
        return;
      } catch (err) {
        if (isStatus(err, 404)) {
          try {
            // The status row is not there yet (its blob event is still on its way): start the counter.
            await this.table.createEntity({
              partitionKey: day,
              rowKey: rk,
              conversationId,
              version,
              duplicatesSkipped: 1,
            });
            return;
          } catch (createErr) {
            if (!isStatus(createErr, 409)) throw createErr;
          }
        } else if (!isStatus(err, 412)) throw err;
      }
    }
    this.logger.warn('duplicate count not recorded after retries', { conversationId, version });
  }

  async *conversationRows(day: string, conversationId: string): AsyncGenerator<StatusRow> {
    const prefix = `${rowKey(conversationId, '')}`;
    const filter = odata`PartitionKey eq ${day} and RowKey ge ${prefix} and RowKey lt ${`${prefix}~`}`;
    yield* this.rows(filter);
  }

  /**
   * Rows whose conversation started on days `from`..`to` (inclusive, yyyy-mm-dd), in day order, paged by
   * the service (1,000 per request): never the whole table in memory.
   */
  async *range(from: string, to: string, status?: ItemStatus[]): AsyncGenerator<StatusRow> {
    const filter = odata`PartitionKey ge ${from} and PartitionKey le ${to}`;
    for await (const row of this.rows(filter)) {
      if (!status || status.includes(row.status)) yield row;
    }
  }

  private async *rows(filter: string): AsyncGenerator<StatusRow> {
    await this.ensure();
    for await (const entity of this.table.listEntities({ queryOptions: { filter } })) {
      const parsed = StatusRowSchema.safeParse(entity);
      if (parsed.success) {
        yield parsed.data;
        continue;
      }
      if (!('status' in entity) || entity.status === undefined) {
        // Only a duplicate counter so far: its item row is written when the blob event arrives.
        continue;
      }
      const field = parsed.error.issues[0]?.path.join('.') ?? '?';
      this.logger.warn('status row unreadable, skipped in log', {
        partitionKey: entity.partitionKey,
        rowKey: entity.rowKey,
        field,
      });
    }
  }
}
