// Poison queue of mailbox deliveries: the (item, mailbox) row becomes `failed` with the last error.
import { app, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

export async function recordDeliveryFailure(message: unknown, ctx: InvocationContext): Promise<void> {
  const logger = contextLogger(ctx);
  const delivery = appRuntime(process.env).delivery;
  if (!delivery) return logger.error('poisoned mailbox delivery but delivery is off (GRAPH_TENANT_ID unset)');
  await delivery.recordDeliveryPoison(message, logger);
}

app.storageQueue('recordDeliveryFailure', {
  queueName: '%DELIVERY_QUEUE%-poison',
  connection: 'AzureWebJobsStorage',
  handler: recordDeliveryFailure,
});
