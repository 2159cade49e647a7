// Queue: archive one conversation (write-once .json + .eml). Throwing = retry via the queue, then poison.
import { app, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

export async function archiveConversation(message: unknown, ctx: InvocationContext): Promise<void> {
  const attempt = Number(ctx.triggerMetadata?.dequeueCount ?? 1);
  await appRuntime(process.env).archive(message, attempt, contextLogger(ctx));
}

app.storageQueue('archiveConversation', {
  queueName: '%ARCHIVE_QUEUE%',
  connection: 'AzureWebJobsStorage',
  handler: archiveConversation,
});
