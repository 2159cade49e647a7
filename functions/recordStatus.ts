// Blob (Event Grid): each archived .eml becomes one status-log row.
import { app, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../lib/app/context-logger.js';
import { appRuntime } from '../lib/app/runtime.js';

/**
 * The blob binding hands the whole body to the worker; we ignore it and read only properties and metadata
 * through the SDK. Trade-off: one extra HEAD per item and a body transfer we cannot switch off in the Node
 * v4 model (SDK-type bindings are not available here); in exchange this stays a real blob trigger with the
 * extension's receipts, retries and poison queue, which Flex Consumption supports only with Event Grid.
 */
export async function recordStatus(_blob: unknown, ctx: InvocationContext): Promise<void> {
  // `{name}` is the path without the extension: the pattern only matches .eml blobs, so the source .json
  // beside each item never triggers (nor, in Azure, the Event Grid subscription filtered on .eml).
  const name = `${String(ctx.triggerMetadata?.name ?? '')}.eml`;
  await appRuntime(process.env).recordBlob(name, contextLogger(ctx));
}

app.storageBlob('recordStatus', {
  path: '%ARCHIVE_CONTAINER%/{name}.eml',
  connection: 'AzureWebJobsStorage',
  source: 'EventGrid',
  handler: recordStatus,
});
