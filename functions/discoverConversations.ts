// Timer: find conversations updated since the watermark and enqueue one archive message each.
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

export async function discoverConversations(timer: Timer, ctx: InvocationContext): Promise<void> {
  const logger = contextLogger(ctx);
  if (timer.isPastDue) logger.warn('discovery run is past due (a previous run was late or long)');
  await appRuntime(process.env).discover(logger);
}

app.timer('discoverConversations', {
  schedule: '%DISCOVERY_SCHEDULE%',
  runOnStartup: false,
  useMonitor: true,
  // No function-level retry: a failed run leaves the watermark where it was, so the next run re-does it.
  handler: discoverConversations,
});
