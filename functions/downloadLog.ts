// HTTP GET /api/log: the status log, one row per (item, mailbox) (CSV, JSON or NDJSON), streamed. Entra ID sign-in in front (App Service Authentication), re-checked in lib/app/admin-access.ts.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

// Real response streaming (otherwise the library buffers the whole body): a year of log stays out of memory.
app.setup({ enableHttpStream: true });

export async function downloadLog(req: HttpRequest, ctx: InvocationContext): Promise<HttpResponseInit> {
  return appRuntime(process.env).logRequest(
    'log',
    { query: Object.fromEntries(req.query.entries()), headers: req.headers },
    'sign-in',
    contextLogger(ctx),
  );
}

app.http('downloadLog', { methods: ['GET'], authLevel: 'anonymous', route: 'log', handler: downloadLog });
