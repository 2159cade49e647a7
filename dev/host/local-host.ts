import { consoleLogger, type Logger } from '../../lib/log.js';
import { parseBlobPath, resolveAppSettings } from './binding-expressions.js';
import type { BindingContext } from './bindings-io.js';
import { BLOB_POISON_QUEUE, BlobWatcher } from './blob-watcher.js';
import {
  type BlobEventSource,
  EVENT_GRID_RETRY_DELAYS_MS,
  parseEventGridSubscriptions,
  resolveSubscription,
} from './event-grid.js';
import { EventGridDelivery } from './event-grid-delivery.js';
import { type CapturedFunction, runAppStartHooks, workerCapabilities } from './functions-core-capture.js';
import { type HostConfig, parseHostJson } from './host-config.js';
import { startHttpServer } from './http-server.js';
import { type InvocationRecord, InvocationRunner } from './invocation-runner.js';
import { QueueListener } from './queue-listener.js';
import { blobEndpointOf, StorageConnections } from './storage-connections.js';
import { parseTimerSchedule, type TimerSchedule } from './timer-schedule.js';
import { Wakeable } from './wakeable.js';

export interface LocalHostOptions {
  functions: Map<string, CapturedFunction>;
  /** App settings; a binding's `connection: 'X'` resolves to settings['X'] (a connection string). */
  settings: Record<string, string>;
  /** Parsed host.json. */
  hostJson: unknown;
  /** Default 7071; 0 = random. */
  httpPort?: number;
  logger?: Logger;
  /** Fire each timer once at start, so a new user sees results at once. */
  runTimersOnStart?: boolean;
  /** Schedule timers by their NCRONTAB (default true; tests pass false and call runTimer). */
  timers?: boolean;
  /** How often blob triggers look for new or changed blobs (default 1000 ms). */
  blobPollIntervalMs?: number;
  /**
   * Where BlobCreated events come from (the storage event proxy in front of Azurite), for the Event Grid
   * subscriptions below.
   */
  blobEvents?: BlobEventSource;
  /** The content of infra/eventgrid-subscriptions.json: which events go to which eventGridTrigger function. */
  eventGridSubscriptions?: unknown;
  /** Local Event Grid delivery: retry waits (default Event Grid's schedule) and a cap on attempts. */
  eventGrid?: { retryDelaysMs?: number[]; maxDeliveryAttempts?: number; concurrency?: number };
}

/** What the host has to do right now (idle() waits for all of it to be zero). */
export interface HostActivity {
  /** Messages in each trigger queue, visible or not. */
  queues: Record<string, number>;
  invocationsInFlight: number;
  /** Blob trigger deliveries (classic scan) not yet done. */
  blobEventsPending: number;
  /** Event Grid events accepted by a subscription and not yet delivered or dead-lettered. */
  eventsPending: number;
  timersRunning: number;
}

export interface LocalHost {
  readonly httpUrl: string;
  start(): Promise<void>;
  /** Stops timers and pollers, waits for in-flight invocations, closes the HTTP server. */
  stop(): Promise<void>;
  /** Runs a timer function now (with its outputs and retry policy); rejects if its last attempt fails. */
  runTimer(name: string): Promise<void>;
  /** Resolves when every trigger queue is empty, nothing is in flight and no blob event is pending. */
  idle(opts?: { timeoutMs?: number }): Promise<void>;
  /** What is queued, running or pending now (progress reporting). */
  activity(): Promise<HostActivity>;
  invocations(): ReadonlyArray<InvocationRecord>;
}

interface TimerFunction {
  fn: CapturedFunction;
  bindingName: string;
  schedule: TimerSchedule;
  runOnStartup: boolean;
  last?: Date;
  handle?: NodeJS.Timeout;
  running?: Promise<void>;
}

/** A timer that fires this much later than scheduled is "past due", as the host reports it. */
const PAST_DUE_MS = 1000;

/**
 * A local Azure Functions host for the captured registrations: timers, queue triggers (with the Storage
 * Queues extension's batching, retries and poison queue), Event Grid triggers (fed by the blob event proxy,
 * filtered and retried per infra/eventgrid-subscriptions.json), blob triggers (by container scan), HTTP
 * triggers, and queue/blob/table bindings, all driven through the library's own invocation model. It is
 * dev tooling: Azure runs the real host with the same metadata.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const host = new Host(options);
  await host.start();
  return host;
}

class Host implements LocalHost {
  readonly #opts: LocalHostOptions;
  readonly #config: HostConfig;
  readonly #logger: Logger;
  readonly #runner: InvocationRunner;
  readonly #queues: QueueListener[] = [];
  readonly #blobs: BlobWatcher[] = [];
  readonly #eventGrid: EventGridDelivery[] = [];
  #unsubscribeEvents: (() => void) | undefined;
  readonly #timers = new Map<string, TimerFunction>();
  readonly #http: CapturedFunction[] = [];
  #httpServer: { url: string; close(): Promise<void> } | undefined;
  #blobTimer: NodeJS.Timeout | undefined;
  #started = false;
  /** Cut short by stop(): timer retry delays. */
  readonly #stopping = new Wakeable();

  constructor(opts: LocalHostOptions) {
    this.#opts = opts;
    this.#config = parseHostJson(opts.hostJson);
    this.#logger = opts.logger ?? consoleLogger({ prefix: '[host] ' });
    const storage = new StorageConnections(opts.settings);
    const ctx: BindingContext = {
      storage,
      settings: opts.settings,
      config: this.#config,
      logger: this.#logger,
      onQueueWrite: (queueName) => {
        for (const l of this.#queues) if (l.queueName === queueName) l.notify();
      },
    };
    this.#runner = new InvocationRunner(ctx);
    const eventGridFunctions = new Map<string, { fn: CapturedFunction; bindingName: string }>();
    // Build every listener up front so a bad binding (missing connection, bad schedule) fails at start.
    for (const fn of opts.functions.values()) {
      const name = fn.metadata.name;
      if (/^(1|true)$/i.test(opts.settings[`AzureWebJobs.${name}.Disabled`] ?? '')) {
        this.#logger.info(`Function '${name}' is disabled by AzureWebJobs.${name}.Disabled`);
        continue;
      }
      const entry = Object.entries(fn.metadata.bindings).find(([, b]) => b.type.endsWith('Trigger'));
      if (!entry) throw new Error(`function ${name}: no trigger binding`);
      const [bindingName, binding] = entry;
      const where = `function ${name}, trigger ${bindingName}`;
      const str = (key: string) =>
        typeof binding[key] === 'string'
          ? resolveAppSettings(binding[key] as string, opts.settings, where)
          : undefined;
      const connection = typeof binding.connection === 'string' ? binding.connection : undefined;
      switch (binding.type) {
        case 'timerTrigger': {
          const expr = str('schedule');
          if (!expr) throw new Error(`${where}: no schedule`);
          const schedule = parseTimerSchedule(expr, { timeZone: opts.settings.WEBSITE_TIME_ZONE, where });
          this.#timers.set(name, { fn, bindingName, schedule, runOnStartup: binding.runOnStartup === true });
          break;
        }
        case 'queueTrigger': {
          const queueName = str('queueName');
          if (!queueName) throw new Error(`${where}: no queueName`);
          const service = storage.queueService(connection, where);
          this.#queues.push(
            new QueueListener({
              fn,
              bindingName,
              queue: service.getQueueClient(queueName),
              poison: service.getQueueClient(`${queueName}-poison`),
              config: this.#config,
              runner: this.#runner,
              logger: this.#logger,
            }),
          );
          break;
        }
        case 'blobTrigger': {
          const pattern = parseBlobPath(str('path') ?? '');
          this.#blobs.push(
            new BlobWatcher({
              fn,
              bindingName,
              pattern,
              container: storage.blobService(connection, where).getContainerClient(pattern.container),
              poison: storage.queueService(connection, where).getQueueClient(BLOB_POISON_QUEUE),
              config: this.#config,
              runner: this.#runner,
              logger: this.#logger,
            }),
          );
          break;
        }
        case 'httpTrigger':
          this.#http.push(fn);
          break;
        case 'eventGridTrigger':
          eventGridFunctions.set(name, { fn, bindingName });
          break;
        default:
          this.#logger.warn(
            `function ${name}: trigger type "${binding.type}" is not supported locally; skipped`,
          );
      }
    }
    this.#subscribe(eventGridFunctions, storage);
  }

  /** Builds one delivery per Event Grid subscription whose function runs in this host. */
  #subscribe(
    functions: Map<string, { fn: CapturedFunction; bindingName: string }>,
    storage: StorageConnections,
  ): void {
    const { settings } = this.#opts;
    const subscriptions =
      this.#opts.eventGridSubscriptions === undefined
        ? []
        : parseEventGridSubscriptions(this.#opts.eventGridSubscriptions, 'Event Grid subscriptions');
    const served = new Set<string>();
    for (const raw of subscriptions) {
      const target = functions.get(raw.function);
      if (!target) continue; // its function is not loaded in this host
      served.add(raw.function);
      const s = resolveSubscription(raw, settings);
      const where = `Event Grid subscription ${s.name}`;
      // The app falls back to AzureWebJobsStorage when its own storage connection is not set; so does the topic.
      const connection =
        settings[s.storageConnection] || settings[`AzureWebJobs${s.storageConnection}`]
          ? s.storageConnection
          : 'AzureWebJobsStorage';
      const source = this.#opts.blobEvents;
      const endpoint = blobEndpointOf(storage.connectionString(connection, where))?.toLowerCase();
      if (!source || endpoint !== source.blobEndpoint.toLowerCase()) {
        this.#logger.warn(
          `${where}: its storage account (connection ${connection}) is not behind the local blob event proxy; function '${s.function}' will receive no events`,
        );
        continue;
      }
      const eg = this.#opts.eventGrid ?? {};
      this.#eventGrid.push(
        new EventGridDelivery({
          subscription: s,
          fn: target.fn,
          bindingName: target.bindingName,
          runner: this.#runner,
          deadLetter: s.deadLetterContainer
            ? storage.blobService(connection, where).getContainerClient(s.deadLetterContainer)
            : undefined,
          logger: this.#logger,
          retryDelaysMs: eg.retryDelaysMs ?? EVENT_GRID_RETRY_DELAYS_MS,
          maxDeliveryAttempts: eg.maxDeliveryAttempts,
          concurrency: eg.concurrency ?? 32,
        }),
      );
    }
    for (const name of functions.keys())
      if (!served.has(name))
        this.#logger.warn(
          `function ${name}: no Event Grid subscription delivers to it; it will receive no events`,
        );
  }

  get httpUrl(): string {
    if (!this.#httpServer) throw new Error('the local host is not started');
    return this.#httpServer.url;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    await runAppStartHooks(process.cwd());
    // The worker asks for capabilities once the app is loaded; this also starts the library's stream proxy.
    const capabilities = await workerCapabilities();
    this.#httpServer = await startHttpServer({
      functions: this.#http,
      routePrefix: this.#config.routePrefix,
      port: this.#opts.httpPort ?? 7071,
      runner: this.#runner,
      logger: this.#logger,
      streamProxyUri: capabilities.HttpUri,
    });
    this.#started = true;
    for (const d of this.#eventGrid) d.start();
    if (this.#eventGrid.length && this.#opts.blobEvents)
      this.#unsubscribeEvents = this.#opts.blobEvents.subscribe((event) => {
        for (const d of this.#eventGrid) d.offer(event);
      });
    for (const l of this.#queues) l.start();
    if (this.#blobs.length) this.#pollBlobs();
    const scheduled = this.#opts.timers ?? true;
    for (const t of this.#timers.values()) {
      if (scheduled) this.#schedule(t);
      if (this.#opts.runTimersOnStart || t.runOnStartup) {
        this.runTimer(t.fn.metadata.name).catch(() => {}); // failures are logged by the runner
      }
    }
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    clearTimeout(this.#blobTimer);
    for (const t of this.#timers.values()) clearTimeout(t.handle);
    this.#stopping.wake();
    await Promise.allSettled([...this.#timers.values()].map((t) => t.running));
    await Promise.all(this.#queues.map((l) => l.stop()));
    await Promise.all(this.#blobs.map((b) => b.drain()));
    // The invocations under way finish first: the blobs they write still raise events, delivered below.
    await this.#runner.drain();
    // Events already accepted are delivered (or dead-lettered) before the host stops; new ones are not taken.
    this.#unsubscribeEvents?.();
    this.#unsubscribeEvents = undefined;
    await Promise.all(this.#eventGrid.map((d) => d.stop()));
    await this.#runner.drain();
    await this.#httpServer?.close();
  }

  invocations(): ReadonlyArray<InvocationRecord> {
    return this.#runner.records;
  }

  async runTimer(name: string): Promise<void> {
    const t = this.#timers.get(name);
    if (!t)
      throw new Error(`no timer function named "${name}" (timers: ${[...this.#timers.keys()].join(', ')})`);
    // The host never overlaps two runs of one timer; a second request joins the running one.
    t.running ??= this.#fire(t, new Date()).finally(() => {
      t.running = undefined;
    });
    return t.running;
  }

  async activity(): Promise<HostActivity> {
    const counts = await Promise.all(this.#queues.map((l) => l.approximateCount()));
    return {
      queues: Object.fromEntries(this.#queues.map((l, i) => [l.queueName, counts[i] ?? 0])),
      invocationsInFlight: this.#runner.inFlightCount,
      blobEventsPending: this.#blobs.reduce((n, b) => n + b.inFlight, 0),
      eventsPending: this.#eventGrid.reduce((n, d) => n + d.pending, 0),
      timersRunning: [...this.#timers.values()].filter((t) => t.running).length,
    };
  }

  async idle(opts: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let quiet = 0;
    let busy = '';
    let pause = 100;
    // Two quiet checks in a row: an invocation finishing between the checks may have just written output.
    while (quiet < 2) {
      const eventsPending = this.#eventGrid.reduce((n, d) => n + d.pending, 0);
      const timersRunning = [...this.#timers.values()].filter((t) => t.running).length;
      const local = [
        eventsPending ? `${eventsPending} Event Grid event(s) pending` : '',
        this.#runner.inFlightCount
          ? `${this.#runner.inFlightCount} invocation(s) in flight (${this.#runner.inFlightNames.join(', ')})`
          : '',
        timersRunning ? `${timersRunning} timer(s) running` : '',
      ].filter(Boolean);
      // Storage is asked only when nothing runs here: Azurite counts a queue's messages one by one, which
      // costs it more the longer the queue (10,000 messages at 10 checks a second is real load).
      const counts = local.length ? [] : await Promise.all(this.#queues.map((l) => l.approximateCount()));
      for (const [i, n] of counts.entries()) if (n) this.#queues[i]!.notify();
      const blobPending = local.length
        ? 0
        : (await Promise.all(this.#blobs.map((b) => b.scan()))).reduce((a, b) => a + b, 0);
      const parts = [
        ...counts.map((n, i) => (n ? `${n} message(s) in ${this.#queues[i]!.queueName}` : '')),
        blobPending ? `${blobPending} blob event(s) pending` : '',
        ...local,
      ].filter(Boolean);
      busy = parts.join(', ');
      quiet = parts.length ? 0 : quiet + 1;
      if (quiet >= 2) return;
      if (Date.now() > deadline) throw new Error(`local host not idle after ${timeoutMs} ms: ${busy}`);
      await new Promise((r) => setTimeout(r, pause));
      // A long run is checked less often (up to once a second); a quiet host is confirmed quickly.
      pause = parts.length ? Math.min(1000, Math.round(pause * 1.5)) : 100;
    }
  }

  #schedule(t: TimerFunction): void {
    const due = t.schedule.next(new Date());
    // setTimeout caps at ~24.8 days; re-arm in steps for longer schedules.
    const wait = Math.min(due.getTime() - Date.now(), 2 ** 31 - 1);
    t.handle = setTimeout(() => {
      if (!this.#started) return;
      if (Date.now() < due.getTime()) return this.#schedule(t);
      if (t.running) {
        this.#logger.warn(
          `Timer '${t.fn.metadata.name}' is still running; skipping the occurrence at ${due.toISOString()}`,
        );
      } else {
        t.running = this.#fire(t, due)
          .catch(() => {})
          .finally(() => {
            t.running = undefined;
          });
      }
      this.#schedule(t);
    }, wait);
  }

  async #fire(t: TimerFunction, scheduledFor: Date): Promise<void> {
    const now = new Date();
    const next = t.schedule.next(now);
    const input = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: t.last
        ? { Last: t.last.toISOString(), Next: next.toISOString(), LastUpdated: now.toISOString() }
        : null,
      IsPastDue: now.getTime() - scheduledFor.getTime() > PAST_DUE_MS,
    };
    const retry = t.fn.metadata.retryOptions as RetryOptions | undefined;
    const maxRetryCount = retry?.maxRetryCount ?? 0;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#runner.run(t.fn, {
          reason: 'Timer fired',
          inputData: [{ name: t.bindingName, data: { json: JSON.stringify(input) } }],
          triggerMetadata: {},
          bindingData: {},
          ...(retry ? { retryContext: { retryCount: attempt, maxRetryCount } } : {}),
        });
        t.last = now;
        return;
      } catch (err) {
        // maxRetryCount -1 means retry forever in the host; locally we stop when the host stops.
        if (!retry || !this.#started || (maxRetryCount >= 0 && attempt >= maxRetryCount)) throw err;
        const delay = retryDelayMs(retry, attempt);
        this.#logger.warn(`Timer '${t.fn.metadata.name}' failed; retry ${attempt + 1} in ${delay} ms`);
        await this.#stopping.sleep(delay);
        if (!this.#started) throw err;
      }
    }
  }

  #pollBlobs(): void {
    const interval = this.#opts.blobPollIntervalMs ?? 1000;
    const tick = async () => {
      const started = performance.now();
      for (const b of this.#blobs) {
        try {
          await b.scan();
        } catch (err) {
          this.#logger.warn('blob trigger scan failed; retrying', { error: (err as Error).message });
        }
      }
      // A big container takes a while to list, and Azurite serves everything else from the same thread:
      // keep listing to about a fifth of the time (events arrive later, throughput holds).
      const took = performance.now() - started;
      if (this.#started) this.#blobTimer = setTimeout(tick, Math.max(interval, 4 * took));
    };
    this.#blobTimer = setTimeout(tick, 0);
  }
}

interface RpcDuration {
  seconds?: number | string;
  nanos?: number;
}
interface RetryOptions {
  retryStrategy?: 'fixedDelay' | 'exponentialBackoff';
  maxRetryCount?: number;
  delayInterval?: RpcDuration;
  minimumInterval?: RpcDuration;
  maximumInterval?: RpcDuration;
}

const durationMs = (d: RpcDuration | undefined) =>
  d ? Number(d.seconds ?? 0) * 1000 + (d.nanos ?? 0) / 1e6 : 0;

/** The host's timer retry delays: fixed, or doubling from minimumInterval up to maximumInterval. */
export function retryDelayMs(retry: RetryOptions, attempt: number): number {
  if (retry.retryStrategy === 'exponentialBackoff') {
    const min = durationMs(retry.minimumInterval);
    const max = durationMs(retry.maximumInterval) || Number.POSITIVE_INFINITY;
    return Math.min(max, min * 2 ** attempt);
  }
  return durationMs(retry.delayInterval);
}
