// HTTP GET /api/status: the status page (connector properties, state, 30 days, download links) as one HTML page. Entra ID sign-in in front (App Service Authentication), re-checked in lib/app/admin-access.ts.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

export async function statusPage(req: HttpRequest, ctx: InvocationContext): Promise<HttpResponseInit> {
  return appRuntime(process.env).statusPage(
    { path: new URL(req.url).pathname, query: Object.fromEntries(req.query.entries()), headers: req.headers },
    'sign-in',
    contextLogger(ctx),
  );
}

app.http('statusPage', { methods: ['GET'], authLevel: 'anonymous', route: 'status', handler: statusPage });
