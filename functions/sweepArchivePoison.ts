// Timer: records what ended in `<queue>-poison-poison` (the poison handler could not record it, e.g. storage
// was down every time), which no trigger reads. Fixed schedule: it is a safety net, not a tunable.
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

export async function sweepArchivePoison(_timer: Timer, ctx: InvocationContext): Promise<void> {
  await appRuntime(process.env).sweepPoison(contextLogger(ctx));
}

app.timer('sweepArchivePoison', {
  schedule: '0 7,37 * * * *',
  runOnStartup: false,
  useMonitor: true,
  handler: sweepArchivePoison,
});
