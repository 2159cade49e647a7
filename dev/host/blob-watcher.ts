import type { BlobItem, ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import type { Logger } from '../../lib/log.js';
import type { BlobPathPattern } from './binding-expressions.js';
import { encodeQueueMessage, isNotFound } from './bindings-io.js';
import type { CapturedFunction } from './functions-core-capture.js';
import type { HostConfig } from './host-config.js';
import type { InvocationRunner } from './invocation-runner.js';
import type { RpcTypedData } from './invoke.js';

/** The queue the blobs extension moves a blob that keeps failing to (the host's name, not configurable). */
export const BLOB_POISON_QUEUE = 'webjobs-blobtrigger-poison';

const json = (v: unknown): RpcTypedData => ({ json: JSON.stringify(v) });

/**
 * Emulates a blob trigger. Azurite has no Event Grid, so for `source: 'EventGrid'` this lists the
 * container on a poll and delivers every new or changed blob (by etag) the way a BlobCreated event would
 * arrive: at least once. The classic `LogsAndContainerScan` source works the same way (container scan plus
 * receipts). Receipts live in memory: after a restart blobs are delivered again (at least once, never lost).
 * A failed delivery is retried on the next scan (Event Grid retries); after `maxDequeueCount` failures
 * the blob is reported on `webjobs-blobtrigger-poison`, as the real host does.
 */
export class BlobWatcher {
  readonly #fn: CapturedFunction;
  readonly #bindingName: string;
  readonly #pattern: BlobPathPattern;
  readonly #container: ContainerClient;
  readonly #poison: QueueClient;
  readonly #config: HostConfig;
  readonly #runner: InvocationRunner;
  readonly #logger: Logger;
  /** blob name → etag already handled (delivered, or poisoned). */
  readonly #handled = new Map<string, string>();
  /** `name\netag` → failed deliveries. */
  readonly #failures = new Map<string, number>();
  readonly #inFlight = new Set<string>();
  readonly #deliveries = new Set<Promise<void>>();

  constructor(opts: {
    fn: CapturedFunction;
    bindingName: string;
    pattern: BlobPathPattern;
    container: ContainerClient;
    poison: QueueClient;
    config: HostConfig;
    runner: InvocationRunner;
    logger: Logger;
  }) {
    this.#fn = opts.fn;
    this.#bindingName = opts.bindingName;
    this.#pattern = opts.pattern;
    this.#container = opts.container;
    this.#poison = opts.poison;
    this.#config = opts.config;
    this.#runner = opts.runner;
    this.#logger = opts.logger;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Lists the container and starts a delivery for each blob not yet handled. Returns how many blobs are
   * pending (just dispatched or still running), so idle() knows whether events are outstanding.
   */
  async scan(): Promise<number> {
    try {
      for await (const item of this.#container.listBlobsFlat({
        // No metadata in the listing: it makes Azurite's listing markedly slower, and the download of a
        // new blob returns the metadata anyway.
        prefix: this.#pattern.prefix || undefined,
      })) {
        const params = this.#pattern.match(item.name);
        if (!params || this.#inFlight.has(item.name)) continue;
        const etag = item.properties.etag ?? '';
        if (this.#handled.get(item.name) === etag) continue;
        this.#inFlight.add(item.name);
        const delivery = this.#deliver(item, params).finally(() => {
          this.#inFlight.delete(item.name);
          this.#deliveries.delete(delivery);
        });
        this.#deliveries.add(delivery);
      }
    } catch (err) {
      if (!isNotFound(err)) throw err; // the container does not exist yet: nothing to deliver
    }
    return this.#inFlight.size;
  }

  /** Waits for every delivery started so far (stop() uses it). */
  async drain(): Promise<void> {
    while (this.#deliveries.size) await Promise.allSettled([...this.#deliveries]);
  }

  async #deliver(item: BlobItem, params: Record<string, string>): Promise<void> {
    const etag = item.properties.etag ?? '';
    const blob = this.#container.getBlobClient(item.name);
    let content: Buffer;
    let metadata: Record<string, string>;
    try {
      // Download the version that was listed: if it changed since, the next scan delivers the new one.
      const res = await blob.download(0, undefined, { conditions: { ifMatch: etag } });
      const chunks: Buffer[] = [];
      for await (const c of res.readableStreamBody ?? []) chunks.push(c as Buffer);
      content = Buffer.concat(chunks);
      metadata = res.metadata ?? {};
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404 || status === 412) return; // deleted or replaced meanwhile
      this.#logger.warn(`blob ${this.#container.containerName}/${item.name}: download failed; will retry`, {
        function: this.#fn.metadata.name,
        error: (err as Error).message,
      });
      return;
    }
    const p = item.properties;
    const properties = {
      BlobType: p.blobType,
      ContentType: p.contentType,
      ContentLength: p.contentLength,
      ContentMD5: p.contentMD5 ? Buffer.from(p.contentMD5).toString('base64') : undefined,
      ETag: etag,
      CreatedOn: p.createdOn?.toISOString(),
      LastModified: p.lastModified.toISOString(),
    };
    const meta: Record<string, unknown> = {
      BlobTrigger: `${this.#container.containerName}/${item.name}`,
      Uri: blob.url,
      Properties: properties,
      Metadata: metadata,
      ...params,
    };
    try {
      await this.#runner.run(this.#fn, {
        reason: `New blob detected(${this.#source()}): ${this.#container.containerName}/${item.name}`,
        inputData: [{ name: this.#bindingName, data: { bytes: content } }],
        triggerMetadata: Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, json(v)])),
        bindingData: meta,
      });
      this.#handled.set(item.name, etag);
      this.#failures.delete(`${item.name}\n${etag}`);
    } catch {
      const key = `${item.name}\n${etag}`;
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      if (failures >= this.#config.queues.maxDequeueCount) await this.#moveToPoison(item.name, etag);
    }
  }

  #source(): string {
    return this.#fn.metadata.bindings[this.#bindingName]?.source === 'EventGrid'
      ? 'EventGrid'
      : 'ContainerScan';
  }

  async #moveToPoison(name: string, etag: string): Promise<void> {
    const max = this.#config.queues.maxDequeueCount;
    this.#logger.warn(
      `Blob '${this.#container.containerName}/${name}' failed ${max} times. Moving it to queue '${BLOB_POISON_QUEUE}'.`,
      { function: this.#fn.metadata.name },
    );
    // The blobs extension's poison message shape.
    const message = {
      Type: 'BlobTrigger',
      FunctionId: `Host.Functions.${this.#fn.metadata.name}`,
      BlobType: 'BlockBlob',
      ContainerName: this.#container.containerName,
      BlobName: name,
      ETag: etag,
    };
    await this.#poison.createIfNotExists();
    await this.#poison.sendMessage(
      encodeQueueMessage(JSON.stringify(message), this.#config.queues.messageEncoding),
    );
    this.#handled.set(name, etag);
    this.#failures.delete(`${name}\n${etag}`);
  }
}
