// Poison queue of delivery planning: the item gets a `failed` delivery row with the last error.
import { app, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

export async function recordPlanFailure(message: unknown, ctx: InvocationContext): Promise<void> {
  const logger = contextLogger(ctx);
  const delivery = appRuntime(process.env).delivery;
  if (!delivery)
    return logger.error('poisoned delivery plan but mailbox delivery is off (GRAPH_TENANT_ID unset)');
  await delivery.recordPlanPoison(message, logger);
}

app.storageQueue('recordPlanFailure', {
  queueName: '%DELIVERY_PLAN_QUEUE%-poison',
  connection: 'AzureWebJobsStorage',
  handler: recordPlanFailure,
});
