/**
 * The status log table: idempotent upserts of item outcomes and paged date-range reads. Each write is an
 * upsert (Merge) so redelivered triggers and rescans converge on the same row.
 */
import { odata, RestError, type TableClient } from '@azure/data-tables';
import type { Logger } from '../log.js';
import { type DeliveryRow, DeliveryRowSchema, deliveryRowKey, type ItemRef } from './delivery-row.js';
import {
  FAILED_VERSION,
  type ItemStatus,
  isStoredItem,
  OPEN_VERSION,
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
  /** Archive attempts it took (1 when the first one stored it); absent on items stored before this was kept. */
  attempts?: number | undefined;
}

export interface OpenConversation {
  day: string;
  conversationId: string;
  accountId: string;
  /** ISO instant. */
  conversationStart: string;
  traceparent?: string | undefined;
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
        ...(item.attempts ? { attempts: item.attempts } : {}),
      },
      'Merge',
    );
    // A success supersedes an earlier failure of the same conversation, and its "still open" row.
    for (const stale of [FAILED_VERSION, OPEN_VERSION]) {
      try {
        await this.table.deleteEntity(item.day, rowKey(item.conversationId, stale));
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
    }
  }

  /**
   * A conversation discovery found still open (and not yet due for an interim item): one `open` row, so
   * the log accounts for everything LivePerson holds. Not written once the conversation has an item.
   */
  async recordOpen(item: OpenConversation): Promise<'recorded' | 'archived'> {
    await this.ensure();
    for await (const row of this.conversationRows(item.day, item.conversationId)) {
      if (isStoredItem(row.status)) return 'archived';
    }
    await this.table.upsertEntity(
      {
        partitionKey: item.day,
        rowKey: rowKey(item.conversationId, OPEN_VERSION),
        conversationId: item.conversationId,
        version: OPEN_VERSION,
        accountId: item.accountId,
        status: 'open',
        reason: 'still open at LivePerson: archived once it closes',
        conversationStart: item.conversationStart,
        conversationStatus: 'OPEN',
        archivedAt: '',
        ...(item.traceparent ? { traceparent: item.traceparent } : {}),
      },
      'Merge',
    );
    return 'recorded';
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

  /**
   * Every entity of days `from`..`to` as stored (item, failure and delivery rows), in day and RowKey
   * order, paged by the service: the log download joins them (lib/statuslog/log-rows.ts).
   */
  async *entities(from: string, to: string): AsyncGenerator<Record<string, unknown>> {
    await this.ensure();
    const filter = odata`PartitionKey ge ${from} and PartitionKey le ${to}`;
    yield* this.table.listEntities({ queryOptions: { filter } });
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

/**
 * Delivery rows: one per (item, mailbox). Each row is written only by that delivery's own messages, so
 * concurrent deliveries of one item never overwrite each other.
 */
export class DeliveryLog {
  private ensured?: Promise<unknown>;
  constructor(
    private readonly table: TableClient,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private ensure() {
    this.ensured ??= this.table.createTable();
    return this.ensured;
  }

  private base(item: ItemRef, mailbox: string | undefined) {
    return {
      partitionKey: item.day,
      rowKey: deliveryRowKey(item, mailbox),
      kind: 'delivery' as const,
      conversationId: item.conversationId,
      itemKey: item.itemKey,
      mailbox: mailbox ?? '',
    };
  }

  async get(item: ItemRef, mailbox: string | undefined): Promise<DeliveryRow | undefined> {
    await this.ensure();
    try {
      const e = await this.table.getEntity(item.day, deliveryRowKey(item, mailbox));
      const parsed = DeliveryRowSchema.safeParse(e);
      return parsed.success ? parsed.data : undefined;
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  /** A planned delivery: created `pending` unless a row exists already (a re-plan never resets one). */
  async planned(item: ItemRef, mailbox: string, mappedBy: string): Promise<'created' | 'exists'> {
    await this.ensure();
    try {
      await this.table.createEntity({
        ...this.base(item, mailbox),
        deliveryStatus: 'pending',
        deliveryTime: this.now().toISOString(),
        deliveryReason: '',
        mappedBy,
        attempts: 0,
      });
      return 'created';
    } catch (err) {
      if (isStatus(err, 409)) return 'exists';
      throw err;
    }
  }

  async unmapped(item: ItemRef, reason: string): Promise<void> {
    await this.ensure();
    await this.table.upsertEntity(
      {
        ...this.base(item, undefined),
        deliveryStatus: 'unmapped',
        deliveryTime: this.now().toISOString(),
        deliveryReason: reason.slice(0, 4000),
        attempts: 1,
      },
      'Merge',
    );
  }

  /**
   * Claims the delivery for `owner` (the queue message id, stable across that message's retries) for
   * `leaseMs`: two copies of a delivery message handled at once never both create the item. `busy` when
   * another live copy holds it; `done` when it is delivered already. Optimistic concurrency on the row.
   * The claim also marks that a create may follow (`createAttemptedAt`); `previous` is the row as it was
   * before this claim, so the caller can tell an item an earlier attempt created from one that was in the
   * mailbox before any attempt.
   */
  async claim(
    item: ItemRef,
    mailbox: string,
    owner: string,
    leaseMs: number,
    attempt: number,
  ): Promise<{ claim: 'claimed'; previous: DeliveryRow | undefined } | { claim: 'busy' | 'done' }> {
    await this.ensure();
    const rk = deliveryRowKey(item, mailbox);
    for (let race = 0; race < 8; race++) {
      const now = this.now();
      const until = new Date(now.getTime() + leaseMs).toISOString();
      let row: (Record<string, unknown> & { etag?: string }) | undefined;
      try {
        row = await this.table.getEntity(item.day, rk);
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
      if (!row) {
        try {
          await this.table.createEntity({
            ...this.base(item, mailbox),
            deliveryStatus: 'pending',
            deliveryTime: now.toISOString(),
            deliveryReason: '',
            attempts: attempt,
            leaseOwner: owner,
            leaseUntil: until,
            createAttemptedAt: now.toISOString(),
          });
          return { claim: 'claimed', previous: undefined };
        } catch (err) {
          if (isStatus(err, 409)) continue;
          throw err;
        }
      }
      if (row.deliveryStatus === 'delivered' || row.deliveryStatus === 'duplicate') return { claim: 'done' };
      const held = typeof row.leaseUntil === 'string' && row.leaseUntil > now.toISOString();
      if (held && row.leaseOwner && row.leaseOwner !== owner) return { claim: 'busy' };
      try {
        await this.table.updateEntity(
          {
            partitionKey: item.day,
            rowKey: rk,
            leaseOwner: owner,
            leaseUntil: until,
            createAttemptedAt: now.toISOString(),
            attempts: attempt,
          },
          'Merge',
          {
            etag: String(row.etag),
          },
        );
        const previous = DeliveryRowSchema.safeParse(row);
        return { claim: 'claimed', previous: previous.success ? previous.data : undefined };
      } catch (err) {
        if (!isStatus(err, 412)) throw err;
      }
    }
    return { claim: 'busy' };
  }

  /** Gives a claim back (best effort: an expired lease frees itself). */
  async release(item: ItemRef, mailbox: string, owner: string): Promise<void> {
    await this.ensure();
    const rk = deliveryRowKey(item, mailbox);
    try {
      const row = await this.table.getEntity<{ leaseOwner?: string }>(item.day, rk);
      if (row.leaseOwner !== owner) return;
      await this.table.updateEntity(
        { partitionKey: item.day, rowKey: rk, leaseOwner: '', leaseUntil: '' },
        'Merge',
        {
          etag: row.etag,
        },
      );
    } catch {
      // someone else moved on; the lease expires by itself
    }
  }

  /** Planning failed for good: the item gets one `failed` delivery row without a mailbox. */
  async planFailed(item: ItemRef, reason: string): Promise<void> {
    await this.ensure();
    await this.table.upsertEntity(
      {
        ...this.base(item, undefined),
        deliveryStatus: 'failed',
        deliveryTime: this.now().toISOString(),
        deliveryReason: reason.slice(0, 4000),
        attempts: 1,
      },
      'Merge',
    );
  }

  async finished(
    item: ItemRef,
    mailbox: string,
    outcome: {
      status: 'delivered' | 'duplicate';
      reason: string;
      graphMessageIds: string[];
      parts: number;
      omitted: number;
      attempts: number;
    },
  ): Promise<void> {
    await this.ensure();
    await this.table.upsertEntity(
      {
        ...this.base(item, mailbox),
        deliveryStatus: outcome.status,
        deliveryTime: this.now().toISOString(),
        deliveryReason: outcome.reason.slice(0, 4000),
        graphMessageIds: outcome.graphMessageIds.join(' ').slice(0, 8000),
        parts: outcome.parts,
        omitted: outcome.omitted,
        attempts: outcome.attempts,
        // Done: the claim ends with it (one write instead of a separate release).
        leaseOwner: '',
        leaseUntil: '',
        lastError: '',
      },
      'Merge',
    );
  }

  /** A failed attempt: the row stays pending with the error, or (final) becomes `failed`. */
  async failedAttempt(
    item: ItemRef,
    mailbox: string,
    reason: string,
    attempts: number,
    final: boolean,
  ): Promise<void> {
    await this.ensure();
    await this.table.upsertEntity(
      {
        ...this.base(item, mailbox),
        ...(final
          ? {
              deliveryStatus: 'failed',
              deliveryTime: this.now().toISOString(),
              deliveryReason: reason.slice(0, 4000),
            }
          : {}),
        lastError: reason.slice(0, 4000),
        attempts,
      },
      'Merge',
    );
  }

  /** The same delivery handed over again after it was done (a duplicate queue message). */
  async countDuplicate(item: ItemRef, mailbox: string): Promise<void> {
    await this.ensure();
    const rk = deliveryRowKey(item, mailbox);
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        const row = await this.table.getEntity<{ duplicatesSkipped?: number }>(item.day, rk);
        await this.table.updateEntity(
          { partitionKey: item.day, rowKey: rk, duplicatesSkipped: Number(row.duplicatesSkipped ?? 0) + 1 },
          'Merge',
          { etag: row.etag },
        );
        return;
      } catch (err) {
        if (!isStatus(err, 412)) throw err;
      }
    }
  }
}
