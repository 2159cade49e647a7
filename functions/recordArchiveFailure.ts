// Poison queue: a message that failed every attempt is recorded `failed` in the status log, not dropped.
import { app, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

export async function recordArchiveFailure(message: unknown, ctx: InvocationContext): Promise<void> {
  await appRuntime(process.env).recordPoison(message, contextLogger(ctx));
}

app.storageQueue('recordArchiveFailure', {
  queueName: '%ARCHIVE_QUEUE%-poison',
  connection: 'AzureWebJobsStorage',
  handler: recordArchiveFailure,
});
