/**
 * The whole app as deployed, locally: the captured functions on the local host over Azurite, with the
 * LivePerson sandbox behind the real client. Used by the end-to-end tests.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  type GraphSandbox,
  type GraphSandboxOptions,
  startGraphSandbox,
} from '../../dev/graph-sandbox/index.js';
import { type BlobEventProxy, startBlobEventProxy } from '../../dev/host/blob-events-proxy.js';
import { capturedFunctions } from '../../dev/host/functions-core-capture.js';
import { type LocalHost, type LocalHostOptions, startLocalHost } from '../../dev/host/local-host.js';
import { loadEventGridSubscriptions, loadHostJson } from '../../dev/host/local-settings.js';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../dev/sandbox/index.js';
import { type AppRuntime, createRuntime, setAppRuntime } from '../../lib/app/runtime.js';
import { type Logger, silentLogger } from '../../lib/log.js';
import type { StatusRow } from '../../lib/statuslog/status-row.js';

export const FUNCTION_NAMES = [
  'discoverConversations',
  'archiveConversation',
  'recordArchiveFailure',
  'sweepArchivePoison',
  'recordStatus',
  'downloadLog',
  'downloadLogSummary',
  'downloadLogByKey',
  'downloadLogSummaryByKey',
  'planMailboxDelivery',
  'recordPlanFailure',
  'deliverToMailbox',
  'recordDeliveryFailure',
  'statusPage',
  'statusPageByKey',
] as const;

/** Registers the app's functions (once per process, as the worker loads them). */
export async function loadFunctions(): Promise<void> {
  await import('../../functions/appStart.js');
  await import('../../functions/discoverConversations.js');
  await import('../../functions/archiveConversation.js');
  await import('../../functions/recordArchiveFailure.js');
  await import('../../functions/sweepArchivePoison.js');
  await import('../../functions/recordStatus.js');
  await import('../../functions/downloadLog.js');
  await import('../../functions/downloadLogSummary.js');
  await import('../../functions/downloadLogByKey.js');
  await import('../../functions/downloadLogSummaryByKey.js');
  await import('../../functions/planMailboxDelivery.js');
  await import('../../functions/recordPlanFailure.js');
  await import('../../functions/deliverToMailbox.js');
  await import('../../functions/recordDeliveryFailure.js');
  await import('../../functions/statusPage.js');
  await import('../../functions/statusPageByKey.js');
}

const PROJECT_DIR = fileURLToPath(new URL('../..', import.meta.url));

export function projectHostJson(overrides: { queues?: Record<string, unknown> } = {}): unknown {
  return loadHostJson(PROJECT_DIR, overrides);
}

/** infra/eventgrid-subscriptions.json: the Event Grid subscriptions the deploy creates and the local host applies. */
export function eventGridSubscriptions(): unknown {
  return loadEventGridSubscriptions(PROJECT_DIR);
}

export interface Pipeline {
  sandbox: Sandbox;
  /** The Microsoft Graph sandbox, when the pipeline was started with mailbox delivery. */
  graph?: GraphSandbox;
  /** The blob endpoint the app uses: Azurite behind the proxy that raises BlobCreated events. */
  blobEvents: BlobEventProxy;
  settings: Record<string, string>;
  runtime: AppRuntime;
  host: LocalHost;
  /** One discovery run, then wait until every message, retry and blob event has been handled. */
  discoverAndSettle(timeoutMs?: number): Promise<void>;
  get(path: string): Promise<Response>;
  statusRows(from?: string, to?: string): Promise<StatusRow[]>;
  stop(): Promise<void>;
}

export async function startPipeline(opts: {
  connection: string;
  sandbox?: SandboxOptions;
  settings?: Record<string, string>;
  queues?: Record<string, unknown>;
  blobPollIntervalMs?: number;
  logger?: Logger;
  /** Deliver to mailboxes through a local Graph sandbox (its GRAPH_* settings are added). */
  graph?: GraphSandboxOptions;
  eventGrid?: LocalHostOptions['eventGrid'];
}): Promise<Pipeline> {
  const sandbox = await startSandbox({ faultRate: 0, latencyMs: 0, indexLagMs: 0, ...opts.sandbox });
  const graph = opts.graph ? await startGraphSandbox(opts.graph) : undefined;
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  // As under `npm start`: blob traffic goes through the proxy that raises BlobCreated (Azurite has no Event Grid).
  const blobEvents = await startBlobEventProxy({
    upstream: opts.connection,
    logger: opts.logger ?? silentLogger,
  });
  const settings: Record<string, string> = {
    AzureWebJobsStorage: blobEvents.connectionString,
    ArchiveStorage: blobEvents.connectionString,
    ...sandbox.env,
    // OAuth 2.0 only: bearer tokens follow the sandbox clock, while OAuth1 timestamps are wall-clock and
    // would be refused once a test moves the sandbox clock on.
    LP_APP_KEY: '',
    LP_APP_SECRET: '',
    LP_ACCESS_TOKEN: '',
    LP_ACCESS_TOKEN_SECRET: '',
    LP_RETRY_BASE_MS: '5',
    LP_RETRY_PAUSES_MS: '5,10,20',
    LP_FILES_POLL_MS: '5',
    ARCHIVE_RETRY_DELAY_SECONDS: '0',
    DISCOVERY_SCHEDULE: '0 */5 * * * *',
    BACKFILL_DAYS: '395',
    ARCHIVE_QUEUE: `arc-${id}`,
    ARCHIVE_CONTAINER: `arc-${id}`,
    STATUS_TABLE: `St${id}`,
    WATERMARK_TABLE: `Wm${id}`,
    FAILURE_TABLE: `Fl${id}`,
    ...(graph ? { ...graph.env, GRAPH_TIMEOUT_MS: '20000' } : {}),
    DELIVERY_QUEUE: `dlv-${id}`,
    DELIVERY_PLAN_QUEUE: `pln-${id}`,
    MAILBOX_TABLE: `Mb${id}`,
    ...opts.settings,
  };
  const logger = opts.logger ?? silentLogger;
  const runtime = createRuntime(settings, { now: sandbox.clock.now, logger });
  setAppRuntime(process.env, runtime);
  await loadFunctions();
  const host = await startLocalHost({
    functions: capturedFunctions(),
    settings,
    hostJson: projectHostJson({
      queues: { visibilityTimeout: '00:00:00.050', maxPollingInterval: '00:00:00.100', ...opts.queues },
    }),
    httpPort: 0,
    timers: false,
    blobPollIntervalMs: opts.blobPollIntervalMs ?? 50,
    logger,
    blobEvents,
    eventGridSubscriptions: eventGridSubscriptions(),
    eventGrid: { retryDelaysMs: [20, 50, 100], ...opts.eventGrid },
  });
  const get = (path: string) => fetch(`${host.httpUrl}${path}`);
  return {
    sandbox,
    ...(graph ? { graph } : {}),
    blobEvents,
    settings,
    runtime,
    host,
    async discoverAndSettle(timeoutMs = 120_000) {
      await host.runTimer('discoverConversations');
      await host.idle({ timeoutMs });
    },
    get,
    async statusRows(from = '2000-01-01', to = '2099-12-31') {
      const rows: StatusRow[] = [];
      for await (const r of runtime.statusLog(silentLogger).range(from, to)) rows.push(r);
      return rows;
    },
    async stop() {
      await host.stop();
      await blobEvents.close();
      await sandbox.stop();
      await graph?.stop();
    },
  };
}

/** Conversations that are closed now at the sandbox: the ones that must end up archived. */
export function closedIds(sandbox: Sandbox): string[] {
  return sandbox.conversations.ids().filter((id) => {
    const r = sandbox.conversations.get(id) as { info?: { status?: string } } | undefined;
    return r?.info?.status === 'CLOSE';
  });
}

/** A log query range covering every conversation the sandbox made (its span ends at its clock's now). */
export function logRange(sandbox: Sandbox, spanDays = 60): { from: string; to: string } {
  const now = sandbox.clock.now();
  return {
    from: new Date(now - spanDays * 86_400_000).toISOString().slice(0, 10),
    to: new Date(now + 86_400_000).toISOString().slice(0, 10),
  };
}
