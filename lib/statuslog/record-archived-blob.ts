/**
 * Records an archived .eml in the status log from the blob's properties and metadata alone (no body
 * download). Idempotent: the same blob always yields the same row.
 */
import type { BlobGetPropertiesResponse, ContainerClient } from '@azure/storage-blob';
import { ArchivedBlobMetadataSchema, startDay } from '../archive/blob-layout.js';
import type { Logger } from '../log.js';
import type { StatusLog } from './status-log.js';

export type RecordOutcome =
  | {
      recorded: true;
      status: 'archived' | 'partial';
      conversationId: string;
      version: string;
      traceparent?: string | undefined;
    }
  | { recorded: false; reason: string };

export async function recordArchivedBlob(
  container: ContainerClient,
  blobName: string,
  log: StatusLog,
  logger: Logger,
  /** The blob's properties when the caller has already read them (one HEAD per event, not two). */
  known?: BlobGetPropertiesResponse,
): Promise<RecordOutcome> {
  if (!blobName.endsWith('.eml')) return { recorded: false, reason: 'not an .eml item' };
  const props = known ?? (await container.getBlobClient(blobName).getProperties());
  const parsed = ArchivedBlobMetadataSchema.safeParse(props.metadata ?? {});
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path.join('.') ?? 'metadata';
    // Not written by the archive step (or tampered with): report it, never invent a row.
    logger.warn('blob has no archive metadata, not recorded', { blobName, field });
    return { recorded: false, reason: `metadata field ${field} invalid` };
  }
  const m = parsed.data;
  const status = m.partialreasons.length > 0 ? 'partial' : 'archived';
  await log.recordArchived({
    day: startDay(Date.parse(m.starttime)),
    conversationId: m.conversationid,
    // A partial item and its later complete version share the content version: the item key tells them apart.
    version: m.itemkey ?? m.version,
    accountId: m.accountid,
    status,
    reason: m.partialreasons.join('; '),
    conversationStart: m.starttime,
    conversationEnd: m.endtime,
    conversationStatus: m.conversationstatus,
    archivedAt: (props.createdOn ?? props.lastModified ?? new Date()).toISOString(),
    blobPath: `${container.containerName}/${blobName}`,
    size: props.contentLength ?? m.size ?? 0,
    sha256: m.sha256,
    attempts: m.attempts,
    addresses: m.addresses,
    counts: {
      messages: m.messages,
      files: m.files,
      filesAttached: m.filesattached,
      participants: m.participants,
    },
  });
  logger.debug('item recorded in status log', {
    conversationId: m.conversationid,
    version: m.version,
    status,
  });
  return {
    recorded: true,
    status,
    conversationId: m.conversationid,
    version: m.version,
    traceparent: m.traceparent,
  };
}
