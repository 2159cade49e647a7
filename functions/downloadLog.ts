// HTTP GET /api/log: the status log, one row per item (CSV, JSON or NDJSON), streamed.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';
import { downloadItems } from '../lib/statuslog/log-download.js';

// Real response streaming (otherwise the library buffers the whole body): a year of log stays out of memory.
app.setup({ enableHttpStream: true });

export async function downloadLog(req: HttpRequest, ctx: InvocationContext): Promise<HttpResponseInit> {
  const logger = contextLogger(ctx);
  const runtime = appRuntime(process.env);
  return downloadItems(
    Object.fromEntries(req.query.entries()),
    runtime.statusLog(logger),
    logger,
    runtime.downloadOptions(),
  );
}

app.http('downloadLog', { methods: ['GET'], authLevel: 'function', route: 'log', handler: downloadLog });
