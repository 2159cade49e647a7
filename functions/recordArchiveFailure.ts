// Poison queue: a message that failed every attempt ends in `failed` rows (one per conversation), or in an
// unreadable-message row when it names none. Throws only when storage fails (then the sweep catches it).
import { app, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

export async function recordArchiveFailure(message: unknown, ctx: InvocationContext): Promise<void> {
  const raw = ctx.triggerMetadata?.queueTrigger;
  await appRuntime(process.env).recordPoison(
    message,
    contextLogger(ctx),
    typeof raw === 'string' ? raw : undefined,
  );
}

app.storageQueue('recordArchiveFailure', {
  queueName: '%ARCHIVE_QUEUE%-poison',
  connection: 'AzureWebJobsStorage',
  handler: recordArchiveFailure,
});
