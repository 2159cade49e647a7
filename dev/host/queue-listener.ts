import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';
import type { Logger } from '../../lib/log.js';
import type { CapturedFunction } from './functions-core-capture.js';
import type { HostConfig } from './host-config.js';
import type { InvocationRunner } from './invocation-runner.js';
import type { RpcTypedData } from './invoke.js';
import { Wakeable } from './wakeable.js';

/** The extension's minimum polling interval; it doubles from here up to maxPollingInterval while idle. */
const MIN_POLL_MS = 100;
/** Azure Queue Storage caps a visibility timeout at 7 days. */
const MAX_VISIBILITY_S = 7 * 24 * 3600;

/** Decodes a queue message's text per host.json messageEncoding; a bad base64 body fails like the host. */
export function decodeQueueMessage(text: string, encoding: 'base64' | 'none', messageId: string): string {
  if (encoding === 'none') return text;
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0)
    throw new Error(
      `queue message ${messageId}: body is not valid base64 (host.json extensions.queues.messageEncoding is "base64"; senders must base64-encode)`,
    );
  return Buffer.from(compact, 'base64').toString('utf8');
}

const json = (v: unknown): RpcTypedData => ({ json: JSON.stringify(v) });

/**
 * One queue trigger's listener, modelled on the Storage Queues extension: fetch up to `batchSize`
 * messages, fetch again once in-flight work drops to `newBatchThreshold`, back off exponentially up to
 * `maxPollingInterval` when the queue is empty (woken early when this host writes to the queue). Success
 * deletes the message; failure releases it after `visibilityTimeout`; a message whose dequeueCount has
 * reached `maxDequeueCount` moves to `<queue>-poison`.
 */
export class QueueListener {
  readonly queueName: string;
  readonly #fn: CapturedFunction;
  readonly #bindingName: string;
  readonly #queue: QueueClient;
  readonly #poison: QueueClient;
  readonly #config: HostConfig;
  readonly #runner: InvocationRunner;
  readonly #logger: Logger;
  readonly #wake = new Wakeable();
  #active = 0;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #delay = MIN_POLL_MS;

  constructor(opts: {
    fn: CapturedFunction;
    bindingName: string;
    queue: QueueClient;
    poison: QueueClient;
    config: HostConfig;
    runner: InvocationRunner;
    logger: Logger;
  }) {
    this.#fn = opts.fn;
    this.#bindingName = opts.bindingName;
    this.#queue = opts.queue;
    this.#poison = opts.poison;
    this.#config = opts.config;
    this.#runner = opts.runner;
    this.#logger = opts.logger;
    this.queueName = opts.queue.name;
  }

  get active(): number {
    return this.#active;
  }

  start(): void {
    if (this.#loop) return;
    this.#stopped = false;
    this.#loop = this.#run();
  }

  /** New messages were written by this host: poll now instead of waiting out the back-off. */
  notify(): void {
    this.#delay = MIN_POLL_MS;
    this.#wake.wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake.wake();
    await this.#loop;
    this.#loop = undefined;
  }

  /** Messages in the queue, visible or not (a failed one waiting out its visibility timeout counts). */
  async approximateCount(): Promise<number> {
    try {
      return (await this.#queue.getProperties()).approximateMessagesCount ?? 0;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return 0;
      throw err;
    }
  }

  async #run(): Promise<void> {
    const q = this.#config.queues;
    // The receive lease outlives the function timeout, so a slow invocation is never run twice at once.
    const leaseS = Math.min(MAX_VISIBILITY_S, Math.ceil(this.#config.functionTimeoutMs / 1000) + 60);
    let created = false;
    while (!this.#stopped) {
      if (this.#active > q.newBatchThreshold) {
        await this.#wake.sleep(q.maxPollingIntervalMs);
        continue;
      }
      let messages: DequeuedMessageItem[] = [];
      try {
        // The extension creates a missing trigger queue; once is enough (a 404 later re-creates it).
        if (!created) {
          await this.#queue.createIfNotExists();
          created = true;
        }
        const res = await this.#queue.receiveMessages({
          numberOfMessages: q.batchSize,
          visibilityTimeout: leaseS,
        });
        messages = res.receivedMessageItems;
      } catch (err) {
        created = false;
        this.#logger.warn(`queue ${this.queueName}: receive failed; retrying`, {
          function: this.#fn.metadata.name,
          error: (err as Error).message,
        });
      }
      if (this.#stopped) {
        // Hand back what was just leased so another host instance (or the next start) gets it at once.
        await Promise.allSettled(messages.map((m) => this.#release(m, 0)));
        break;
      }
      if (messages.length) {
        this.#delay = MIN_POLL_MS;
        for (const m of messages) {
          this.#active++;
          void this.#process(m).finally(() => {
            this.#active--;
            this.#wake.wake();
          });
        }
        continue;
      }
      await this.#wake.sleep(this.#delay);
      this.#delay = Math.min(this.#delay * 2, q.maxPollingIntervalMs);
    }
  }

  async #process(m: DequeuedMessageItem): Promise<void> {
    const { maxDequeueCount, messageEncoding, visibilityTimeoutMs } = this.#config.queues;
    const name = this.#fn.metadata.name;
    if (m.dequeueCount > maxDequeueCount) {
      // Already over the limit (e.g. a host crashed mid-invocation): the host poisons without invoking.
      await this.#moveToPoison(m);
      return;
    }
    try {
      let text: string;
      try {
        text = decodeQueueMessage(m.messageText, messageEncoding, m.messageId);
      } catch (err) {
        this.#runner.recordBindingFailure(this.#fn, err as Error, m.dequeueCount);
        throw err;
      }
      const meta: Record<string, unknown> = {
        QueueTrigger: text,
        DequeueCount: m.dequeueCount,
        Id: m.messageId,
        InsertionTime: m.insertedOn.toISOString(),
        ExpirationTime: m.expiresOn.toISOString(),
        NextVisibleTime: m.nextVisibleOn.toISOString(),
        PopReceipt: m.popReceipt,
      };
      const payload = parseJsonObject(text);
      await this.#runner.run(this.#fn, {
        reason: `New queue message detected on '${this.queueName}'.`,
        inputData: [{ name: this.#bindingName, data: { string: text } }],
        triggerMetadata: Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, json(v)])),
        bindingData: { ...meta, ...payload },
        dequeueCount: m.dequeueCount,
      });
      await this.#queue.deleteMessage(m.messageId, m.popReceipt);
    } catch {
      // The runner logged the failure; now the extension's retry policy.
      try {
        if (m.dequeueCount >= maxDequeueCount) await this.#moveToPoison(m);
        else await this.#release(m, visibilityTimeoutMs);
      } catch (err) {
        // The lease then simply expires and the message comes back: nothing is lost.
        this.#logger.warn(`queue ${this.queueName}: could not release message ${m.messageId}`, {
          function: name,
          error: (err as Error).message,
        });
      }
    }
  }

  /** Makes a failed message visible again after `ms` (same content), as the host's retry does. */
  async #release(m: DequeuedMessageItem, ms: number): Promise<void> {
    await this.#queue.updateMessage(m.messageId, m.popReceipt, m.messageText, Math.ceil(ms / 1000));
  }

  async #moveToPoison(m: DequeuedMessageItem): Promise<void> {
    const max = this.#config.queues.maxDequeueCount;
    this.#logger.warn(
      `Message has reached MaxDequeueCount of ${max}. Moving message to queue '${this.#poison.name}'.`,
      { function: this.#fn.metadata.name, messageId: m.messageId, dequeueCount: m.dequeueCount },
    );
    await this.#poison.createIfNotExists();
    // Same (still encoded) content, so a poison-queue trigger decodes it exactly like the original.
    await this.#poison.sendMessage(m.messageText);
    await this.#queue.deleteMessage(m.messageId, m.popReceipt);
  }
}

function parseJsonObject(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
