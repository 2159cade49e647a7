// Queue: an item's status row is recorded; map its participants to mailboxes and send one delivery each.
import { app, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';
import { telemetry } from '../lib/telemetry/metrics.js';

export async function planMailboxDelivery(message: unknown, ctx: InvocationContext): Promise<void> {
  const logger = contextLogger(ctx);
  telemetry.queueAgeSince('delivery-plan', ctx.triggerMetadata?.insertionTime);
  const delivery = appRuntime(process.env).delivery;
  if (!delivery)
    return logger.warn('delivery plan received but mailbox delivery is off (GRAPH_TENANT_ID unset)');
  await delivery.plan(message, Number(ctx.triggerMetadata?.dequeueCount ?? 1), logger);
}

app.storageQueue('planMailboxDelivery', {
  queueName: '%DELIVERY_PLAN_QUEUE%',
  connection: 'AzureWebJobsStorage',
  handler: planMailboxDelivery,
});
