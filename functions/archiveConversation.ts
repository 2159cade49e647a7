// Queue: archive a group of conversations (write-once .json + .eml each). Throwing = the whole group is
// retried via the queue; the archive step itself splits a group that keeps failing, re-enqueues the
// unfinished part of a group, and records a message it cannot read instead of throwing.
import { app, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

export async function archiveConversation(message: unknown, ctx: InvocationContext): Promise<void> {
  const attempt = Number(ctx.triggerMetadata?.dequeueCount ?? 1);
  const raw = ctx.triggerMetadata?.queueTrigger;
  await appRuntime(process.env).archive(
    message,
    attempt,
    contextLogger(ctx),
    typeof raw === 'string' ? raw : undefined,
  );
}

app.storageQueue('archiveConversation', {
  queueName: '%ARCHIVE_QUEUE%',
  connection: 'AzureWebJobsStorage',
  handler: archiveConversation,
});
