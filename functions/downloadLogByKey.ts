// HTTP GET /api/automation/log: the status log for automation (function key). A function key, checked by the host.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

export async function downloadLogByKey(req: HttpRequest, ctx: InvocationContext): Promise<HttpResponseInit> {
  return appRuntime(process.env).logRequest(
    'log',
    { query: Object.fromEntries(req.query.entries()), headers: req.headers },
    'key',
    contextLogger(ctx),
  );
}

app.http('downloadLogByKey', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'automation/log',
  handler: downloadLogByKey,
});
