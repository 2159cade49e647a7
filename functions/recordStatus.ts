// Event Grid: each archived .eml becomes one status-log row (BlobCreated, filtered to .eml by the subscription).
import { app, type EventGridEvent, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

const BLOB_SUBJECT = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/;
const BlobEventSchema = z.object({ subject: z.string().regex(BLOB_SUBJECT, 'not a blob subject') });

/**
 * An Event Grid trigger, not a blob trigger: the blob binding would download the whole body (a 287 MB item
 * took the worker from 113 MB to 1,013 MB), while the status row needs only the blob's properties and
 * metadata, which recordBlob reads. Event Grid redelivers a failed invocation, then dead-letters it.
 */
export async function recordStatus(event: EventGridEvent, ctx: InvocationContext): Promise<void> {
  const logger = contextLogger(ctx);
  const parsed = BlobEventSchema.safeParse(event);
  if (!parsed.success) {
    logger.warn('event is not about a blob, ignored', { eventId: event?.id, eventType: event?.eventType });
    return;
  }
  const [, container, encodedName] = BLOB_SUBJECT.exec(parsed.data.subject)!;
  const runtime = appRuntime(process.env);
  if (container !== runtime.settings.ARCHIVE_CONTAINER) {
    logger.debug('blob event for another container, ignored', { container, eventId: event.id });
    return;
  }
  // Event Grid writes the blob name percent-encoded, as in the blob's URL.
  await runtime.recordBlob(decodeURIComponent(encodedName!), logger);
}

app.eventGrid('recordStatus', { handler: recordStatus });
