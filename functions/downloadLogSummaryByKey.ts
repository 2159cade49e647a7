// HTTP GET /api/automation/log/summary: the per-day summary for automation (function key). A function key, checked by the host.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

export async function downloadLogSummaryByKey(
  req: HttpRequest,
  ctx: InvocationContext,
): Promise<HttpResponseInit> {
  return appRuntime(process.env).logRequest(
    'summary',
    { query: Object.fromEntries(req.query.entries()), headers: req.headers },
    'key',
    contextLogger(ctx),
  );
}

app.http('downloadLogSummaryByKey', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'automation/log/summary',
  handler: downloadLogSummaryByKey,
});
