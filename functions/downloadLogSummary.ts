// HTTP GET /api/log/summary: per-day counts in the columns of Microsoft's connector log.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';
import { downloadSummary } from '../lib/statuslog/log-download.js';

export async function downloadLogSummary(
  req: HttpRequest,
  ctx: InvocationContext,
): Promise<HttpResponseInit> {
  const logger = contextLogger(ctx);
  const runtime = appRuntime(process.env);
  return downloadSummary(
    Object.fromEntries(req.query.entries()),
    runtime.statusLog(logger),
    logger,
    runtime.downloadOptions(),
  );
}

app.http('downloadLogSummary', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'log/summary',
  handler: downloadLogSummary,
});
