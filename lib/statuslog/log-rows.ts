/**
 * The downloadable log's rows: one per (item, mailbox). The status table holds, per conversation, its
 * item rows (`<conv>|<itemKey>`, or `<conv>|failed`) and each item's delivery rows
 * (`<conv>|<itemKey>|m|<mailbox>`); a conversation's rows are contiguous in RowKey order, so they are
 * gathered one conversation at a time (a handful of rows) and joined.
 */
import { type DeliveryRow, DeliveryRowSchema, type DeliveryStatus } from './delivery-row.js';
import { type StatusRow, StatusRowSchema } from './status-row.js';

export type RawEntity = Record<string, unknown> & { partitionKey?: string; rowKey?: string };

/** One item with its deliveries (and the raw status row). */
export interface JoinedItem {
  item: StatusRow;
  deliveries: DeliveryRow[];
}

/** The conversation part of a row key: everything before the first `|`. */
function conversationKey(rowKey: string): string {
  const bar = rowKey.indexOf('|');
  return bar < 0 ? rowKey : rowKey.slice(0, bar);
}

/**
 * Groups a day-ordered, RowKey-ordered entity stream by conversation and joins items with their delivery
 * rows. Unreadable rows are reported through `onUnreadable` and left out.
 */
export async function* joinedItems(
  entities: AsyncIterable<RawEntity>,
  onUnreadable: (e: RawEntity, field: string) => void = () => {},
): AsyncGenerator<JoinedItem> {
  let group: RawEntity[] = [];
  let groupKey: string | undefined;
  const flush = function* (): Generator<JoinedItem> {
    const items: StatusRow[] = [];
    const deliveries: DeliveryRow[] = [];
    for (const e of group) {
      if (e.kind === 'delivery') {
        const d = DeliveryRowSchema.safeParse(e);
        if (d.success) deliveries.push(d.data);
        else onUnreadable(e, d.error.issues[0]?.path.join('.') ?? '?');
        continue;
      }
      const parsed = StatusRowSchema.safeParse(e);
      if (parsed.success) items.push(parsed.data);
      else if (e.status !== undefined) onUnreadable(e, parsed.error.issues[0]?.path.join('.') ?? '?');
      // (a row without a status is only a duplicate counter so far: its item row comes with the blob event)
    }
    for (const item of items) {
      const prefix = `${item.rowKey}|m|`;
      yield { item, deliveries: deliveries.filter((d) => d.rowKey.startsWith(prefix)) };
    }
  };
  for await (const e of entities) {
    const key = `${e.partitionKey ?? ''}\n${conversationKey(String(e.rowKey ?? ''))}`;
    if (key !== groupKey) {
      yield* flush();
      group = [];
      groupKey = key;
    }
    group.push(e);
  }
  yield* flush();
}

export interface DeliveryView {
  mailbox: string;
  deliveryStatus: DeliveryStatus;
  deliveryTime: string;
  deliveryReason: string;
  attempts: number;
  duplicatesSkipped: number;
  partiallyImported: boolean;
}

/** The delivery side of each log row of an item (one per mailbox, or one without a mailbox). */
export function deliveryViews(j: JoinedItem, deliveryEnabled: boolean): DeliveryView[] {
  const { item } = j;
  if (item.status === 'failed')
    return [
      {
        mailbox: '',
        deliveryStatus: 'failed',
        deliveryTime: item.archivedAt || '',
        deliveryReason: 'not archived, so not delivered',
        attempts: 0,
        duplicatesSkipped: 0,
        partiallyImported: false,
      },
    ];
  if (item.status === 'open')
    return [
      {
        mailbox: '',
        deliveryStatus: 'pending',
        deliveryTime: '',
        deliveryReason: 'not archived yet (still open at LivePerson)',
        attempts: 0,
        duplicatesSkipped: 0,
        partiallyImported: false,
      },
    ];
  if (j.deliveries.length === 0)
    return [
      {
        mailbox: '',
        deliveryStatus: 'pending',
        deliveryTime: item.archivedAt || '',
        deliveryReason: deliveryEnabled
          ? 'waiting for mailbox delivery'
          : 'mailbox delivery is off (no Microsoft Graph settings)',
        attempts: 0,
        duplicatesSkipped: 0,
        partiallyImported: false,
      },
    ];
  return j.deliveries.map((d) => ({
    mailbox: d.mailbox,
    deliveryStatus: d.deliveryStatus,
    deliveryTime: d.deliveryTime,
    deliveryReason:
      d.deliveryStatus === 'pending' && d.lastError ? `retrying: ${d.lastError}` : (d.deliveryReason ?? ''),
    attempts: d.attempts ?? 0,
    duplicatesSkipped: d.duplicatesSkipped ?? 0,
    partiallyImported: (d.omitted ?? 0) > 0,
  }));
}
