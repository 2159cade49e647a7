// HTTP GET /api/automation/status: the status page for automation and monitoring (function key). A function key, checked by the host.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

export async function statusPageByKey(req: HttpRequest, ctx: InvocationContext): Promise<HttpResponseInit> {
  return appRuntime(process.env).statusPage(
    { path: new URL(req.url).pathname, query: Object.fromEntries(req.query.entries()), headers: req.headers },
    'key',
    contextLogger(ctx),
  );
}

app.http('statusPageByKey', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'automation/status',
  handler: statusPageByKey,
});
