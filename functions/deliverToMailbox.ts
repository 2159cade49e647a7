// Queue: import one archived item into one mailbox through Microsoft Graph. Throwing = retry, then poison.
import { app, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';
import { telemetry } from '../lib/telemetry/metrics.js';

export async function deliverToMailbox(message: unknown, ctx: InvocationContext): Promise<void> {
  const logger = contextLogger(ctx);
  telemetry.queueAgeSince('delivery', ctx.triggerMetadata?.insertionTime);
  const delivery = appRuntime(process.env).delivery;
  if (!delivery) return logger.warn('mailbox delivery received but delivery is off (GRAPH_TENANT_ID unset)');
  const attempt = Number(ctx.triggerMetadata?.dequeueCount ?? 1);
  await delivery.deliver(message, attempt, String(ctx.triggerMetadata?.id ?? ctx.invocationId), logger);
}

app.storageQueue('deliverToMailbox', {
  queueName: '%DELIVERY_QUEUE%',
  connection: 'AzureWebJobsStorage',
  handler: deliverToMailbox,
});
