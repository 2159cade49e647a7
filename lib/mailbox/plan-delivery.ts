/**
 * Planning a stored item's delivery: read its participants from the blob's metadata (never its body),
 * map them to mailboxes, write one `pending` row per mailbox (or one `unmapped` row) and send one
 * delivery message per mailbox. Runs once the item's status row is recorded. No LivePerson call.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import {
  ArchivedBlobMetadataSchema,
  type DeliveryCandidate,
  DeliveryCandidateSchema,
  startDay,
} from '../archive/blob-layout.js';
import type { Logger } from '../log.js';
import type { DeliveryLog } from '../statuslog/status-log.js';
import { type MappingSettings, mapParticipants, type Resolver } from './mapping.js';
import type { MappingSource } from './mapping-csv.js';
import type { DeliverMessage, PlanMessage } from './messages.js';

export interface PlanDeps {
  container: ContainerClient;
  deliveries: DeliveryLog;
  mapping: MappingSource;
  directory: Resolver;
  settings: MappingSettings;
  enqueue(message: DeliverMessage): Promise<void>;
  logger: Logger;
}

export type PlanOutcome =
  | { outcome: 'planned'; mailboxes: string[] }
  | { outcome: 'unmapped'; reason: string }
  | { outcome: 'skipped'; reason: string };

/** Where the full participant list goes when it does not fit the blob metadata. */
export function participantsSidecar(emlName: string): string {
  return emlName.replace(/\.eml$/, '.participants.json');
}

const SidecarSchema = z.object({ participants: z.array(DeliveryCandidateSchema) });

export async function planDelivery(msg: PlanMessage, deps: PlanDeps): Promise<PlanOutcome> {
  const blob = deps.container.getBlobClient(msg.blobName);
  const props = await blob.getProperties();
  const parsed = ArchivedBlobMetadataSchema.safeParse(props.metadata ?? {});
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path.join('.') ?? 'metadata';
    deps.logger.warn('blob has no archive metadata: not delivered', { blobName: msg.blobName, field });
    return { outcome: 'skipped', reason: `metadata field ${field} invalid` };
  }
  const m = parsed.data;
  const item = {
    day: startDay(Date.parse(m.starttime)),
    conversationId: m.conversationid,
    itemKey: m.itemkey ?? m.version,
  };
  let candidates: DeliveryCandidate[] = m.candidates;
  if (m.candidatesoverflow === 'true') {
    const side = deps.container.getBlobClient(participantsSidecar(msg.blobName));
    candidates = SidecarSchema.parse(
      JSON.parse((await side.downloadToBuffer(0, 4 * 1024 * 1024)).toString('utf8')),
    ).participants;
  }
  const mapped = await mapParticipants(candidates, {
    overrides: await deps.mapping.table(),
    directory: deps.directory,
    settings: deps.settings,
  });
  if (mapped.mailboxes.length === 0) {
    const why = mapped.notMapped.map((n) => `${n.participant}: ${n.reason}`).join('; ');
    const reason = `no participant maps to a Microsoft 365 mailbox${why ? ` (${why})` : ''}; the item stays in the archive`;
    await deps.deliveries.unmapped(item, reason);
    deps.logger.info('item unmapped: no mailbox', {
      conversationId: item.conversationId,
      itemKey: item.itemKey,
    });
    return { outcome: 'unmapped', reason };
  }
  const messageId = m.messageid;
  if (!messageId) return { outcome: 'skipped', reason: 'the item has no Message-ID in its metadata' };
  for (const mb of mapped.mailboxes) {
    const created = await deps.deliveries.planned(item, mb.address, mb.how);
    if (created === 'exists') {
      const row = await deps.deliveries.get(item, mb.address);
      if (row && row.deliveryStatus !== 'pending') continue; // done (or failed for good): not sent again
    }
    await deps.enqueue({
      ...item,
      blobName: msg.blobName,
      messageId,
      size: props.contentLength ?? m.size ?? 0,
      sha256: m.sha256,
      mailbox: { address: mb.address, userId: mb.userId },
      mappedBy: mb.how,
      ...((msg.traceparent ?? m.traceparent) ? { traceparent: msg.traceparent ?? m.traceparent } : {}),
      reschedules: 0,
      priorAttempts: 0,
    });
  }
  deps.logger.debug('delivery planned', {
    conversationId: item.conversationId,
    itemKey: item.itemKey,
    mailboxes: mapped.mailboxes.length,
  });
  return { outcome: 'planned', mailboxes: mapped.mailboxes.map((x) => x.address) };
}
