// HTTP GET /api/log/summary: per-day counts in the columns of Microsoft's connector log. Entra ID sign-in in front (App Service Authentication), re-checked in lib/app/admin-access.ts.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

export async function downloadLogSummary(
  req: HttpRequest,
  ctx: InvocationContext,
): Promise<HttpResponseInit> {
  return appRuntime(process.env).logRequest(
    'summary',
    { query: Object.fromEntries(req.query.entries()), headers: req.headers },
    'sign-in',
    contextLogger(ctx),
  );
}

app.http('downloadLogSummary', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'log/summary',
  handler: downloadLogSummary,
});
