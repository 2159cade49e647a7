import { randomUUID } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { Logger } from '../../lib/log.js';
import { type EventGridEvent, type EventGridSubscription, matchesSubscription } from './event-grid.js';
import type { CapturedFunction } from './functions-core-capture.js';
import type { InvocationRunner } from './invocation-runner.js';
import { Wakeable } from './wakeable.js';

interface Pending {
  event: EventGridEvent;
  attempts: number;
  publishedAt: number;
  lastError?: string;
}

export interface EventGridDeliveryOptions {
  /** The subscription, its `%SETTING%`s resolved. */
  subscription: EventGridSubscription;
  fn: CapturedFunction;
  bindingName: string;
  runner: InvocationRunner;
  /** The dead-letter container (the subscription's deadLetterContainer), if it has one. */
  deadLetter: ContainerClient | undefined;
  logger: Logger;
  /** Wait before the 2nd, 3rd, ... attempt; the last value repeats. */
  retryDelaysMs: number[];
  /** A local cap on the subscription's maxDeliveryAttempts (tests use a small one). */
  maxDeliveryAttempts?: number | undefined;
  /** Deliveries under way at once (Event Grid pushes in parallel; this bounds the local host's memory). */
  concurrency: number;
}

/**
 * One Event Grid subscription delivering to one `eventGridTrigger` function, with Event Grid's semantics:
 * events that pass the subscription's filter are pushed at least once, each as one invocation whose input
 * is the event JSON; a failed invocation is retried after the retry schedule; after maxDeliveryAttempts
 * (or once eventTimeToLive has passed) the event is written to the dead-letter container as Event Grid
 * does (`<SUBSCRIPTION>/<yyyy>/<m>/<d>/<h>/<guid>.json`, a JSON array holding the event plus
 * deadLetterReason, deliveryAttempts, lastDeliveryOutcome, ...). Without a dead-letter container the event
 * is dropped, with an error line.
 */
export class EventGridDelivery {
  readonly #o: EventGridDeliveryOptions;
  readonly #ready: Pending[] = [];
  readonly #retryWait = new Wakeable();
  #waiting = 0;
  #active = 0;
  #stopping = false;
  readonly #idle = new Set<() => void>();

  constructor(opts: EventGridDeliveryOptions) {
    this.#o = opts;
  }

  get name(): string {
    return this.#o.subscription.name;
  }

  /** Events accepted and not yet delivered or dead-lettered (queued, being delivered, or waiting to retry). */
  get pending(): number {
    return this.#ready.length + this.#active + this.#waiting;
  }

  /** Takes an event if it passes the subscription's filter; delivery happens asynchronously. */
  offer(event: EventGridEvent): boolean {
    if (!matchesSubscription(this.#o.subscription, event)) return false;
    this.#ready.push({ event, attempts: 0, publishedAt: Date.now() });
    this.#pump();
    return true;
  }

  start(): void {
    this.#stopping = false;
  }

  /**
   * Stops retry waits: each waiting event gets its next attempt now, and an event that still fails is
   * dead-lettered (the local host keeps events in memory, so nothing may be left behind). Resolves when
   * nothing is pending.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#retryWait.wake();
    while (this.pending) await new Promise<void>((resolve) => this.#idle.add(resolve));
  }

  #pump(): void {
    while (this.#active < this.#o.concurrency && this.#ready.length) {
      const item = this.#ready.shift()!;
      this.#active++;
      void this.#attempt(item).finally(() => {
        this.#active--;
        this.#pump();
        this.#settle();
      });
    }
  }

  #settle(): void {
    if (this.pending) return;
    for (const resolve of [...this.#idle]) resolve();
    this.#idle.clear();
  }

  async #attempt(item: Pending): Promise<void> {
    const s = this.#o.subscription;
    item.attempts++;
    try {
      await this.#o.runner.run(this.#o.fn, {
        reason: `EventGrid trigger fired at ${new Date().toISOString()}`,
        inputData: [{ name: this.#o.bindingName, data: { json: JSON.stringify(item.event) } }],
        // The Event Grid extension's binding data: the event's `data`.
        triggerMetadata: { data: { json: JSON.stringify(item.event.data ?? null) } },
        bindingData: { data: item.event.data },
      });
      return;
    } catch (err) {
      item.lastError = err instanceof Error ? err.message : String(err);
    }
    const max = Math.min(s.maxDeliveryAttempts, this.#o.maxDeliveryAttempts ?? Number.POSITIVE_INFINITY);
    const expired = Date.now() - item.publishedAt >= s.eventTimeToLiveMinutes * 60_000;
    if (item.attempts >= max || expired || this.#stopping) {
      const reason = this.#stopping
        ? 'LocalHostStopped'
        : item.attempts >= max
          ? 'MaxDeliveryAttemptsExceeded'
          : 'TimeToLiveExceeded';
      await this.#deadLetter(item, reason);
      return;
    }
    const delays = this.#o.retryDelaysMs;
    const delay = delays[Math.min(item.attempts - 1, delays.length - 1)] ?? 0;
    this.#o.logger.warn(
      `Event Grid subscription ${s.name}: delivery ${item.attempts} of event ${item.event.id} failed; retry in ${delay} ms`,
      { function: this.#o.fn.metadata.name, subject: item.event.subject, error: item.lastError },
    );
    this.#waiting++;
    void this.#retryWait.sleep(delay).then(() => {
      this.#waiting--;
      this.#ready.push(item);
      this.#pump();
    });
  }

  async #deadLetter(item: Pending, reason: string): Promise<void> {
    const s = this.#o.subscription;
    const where = { function: this.#o.fn.metadata.name, subject: item.event.subject, error: item.lastError };
    if (!this.#o.deadLetter) {
      this.#o.logger.error(
        `Event Grid subscription ${s.name}: event ${item.event.id} dropped (${reason}); no dead-letter container`,
        where,
      );
      return;
    }
    const now = new Date();
    const name = [
      s.name.toUpperCase(),
      now.getUTCFullYear(),
      now.getUTCMonth() + 1,
      now.getUTCDate(),
      now.getUTCHours(),
      `${randomUUID()}.json`,
    ].join('/');
    const body = JSON.stringify([
      {
        ...item.event,
        deadLetterReason: reason,
        deliveryAttempts: item.attempts,
        lastDeliveryOutcome: 'Failed',
        lastHttpStatusCode: 500,
        publishTime: new Date(item.publishedAt).toISOString(),
        lastDeliveryAttemptTime: now.toISOString(),
      },
    ]);
    try {
      await this.#o.deadLetter.createIfNotExists();
      await this.#o.deadLetter.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
      this.#o.logger.error(
        `Event Grid subscription ${s.name}: event ${item.event.id} dead-lettered (${reason}) to ${this.#o.deadLetter.containerName}/${name}`,
        where,
      );
    } catch (err) {
      this.#o.logger.error(
        `Event Grid subscription ${s.name}: event ${item.event.id} could not be dead-lettered (${reason}); it is lost`,
        { ...where, event: item.event, deadLetterError: (err as Error).message },
      );
    }
  }
}
