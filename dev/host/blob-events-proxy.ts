import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BlobServiceClient } from '@azure/storage-blob';
import type { Logger } from '../../lib/log.js';
import {
  BLOB_CREATED,
  type BlobCreatedData,
  type BlobEventSource,
  type EventGridEvent,
} from './event-grid.js';
import { blobEndpointOf, withBlobEndpoint } from './storage-connections.js';

/** The subscription and resource group shown in local topics (there is no Azure subscription locally). */
const LOCAL_TOPIC_PREFIX = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local';

export interface BlobEventProxy extends BlobEventSource {
  /** The upstream connection string with its blob endpoint pointing at this proxy (queue, table unchanged). */
  readonly connectionString: string;
  /**
   * Blob service operations seen so far, by name (ListBlobs, ListContainers, PutBlob, PutBlockList, ...),
   * plus SizeLookup: the proxy's own HEADs to Azurite for a created blob's size.
   */
  operations(): Record<string, number>;
  close(): Promise<void>;
}

/**
 * Azurite has no Event Grid. This proxy sits in front of Azurite's blob endpoint, passes every request
 * through unchanged (streamed both ways), and when a request creates a blob (Put Blob, Put Block List,
 * Copy Blob, Put Blob From URL answered 201, or 202 with the copy done), emits the
 * `Microsoft.Storage.BlobCreated` event Azure Storage would publish, in the Event Grid schema. Each event
 * costs nothing beyond the request itself: a Put Block List's size is the sum of the blocks it commits,
 * whose sizes the proxy saw staged; only a copy (or blocks it did not see) takes one HEAD straight to
 * Azurite. No container is ever listed.
 *
 * The event is handed to the listeners before the write's response goes back, so whoever waits for the
 * write also finds its event pending; listeners deliver asynchronously (Event Grid does not make the
 * writer wait for the subscriber). Hand-written rather than a proxy library: it is a plain pass-through,
 * and what it needs is the request and the response status and headers together, which a pipe gives.
 */
export async function startBlobEventProxy(opts: {
  /** Connection string of the storage (Azurite) behind the proxy. */
  upstream: string;
  logger: Logger;
  /** Default 0 (a free port); always 127.0.0.1. */
  port?: number;
}): Promise<BlobEventProxy> {
  const upstreamEndpoint = blobEndpointOf(opts.upstream);
  if (!upstreamEndpoint)
    throw new Error('blob event proxy: the upstream connection string has no BlobEndpoint');
  const target = new URL(upstreamEndpoint);
  const agent = new http.Agent({ keepAlive: true });
  const direct = BlobServiceClient.fromConnectionString(opts.upstream);
  const listeners = new Set<(e: EventGridEvent) => void>();
  const counts = new Map<string, number>();
  const staged = new StagedBlocks();
  let sequence = 0n;
  let endpoint = '';

  const server = http.createServer((req, res) => {
    const op = classify(req.method ?? 'GET', req.url ?? '/', req.headers);
    counts.set(op.name, (counts.get(op.name) ?? 0) + 1);
    const out = http.request({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: target.host },
      agent,
    });
    out.on('error', (err) => {
      opts.logger.warn('blob event proxy: upstream request failed', { op: op.name, error: err.message });
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.on('aborted', () => out.destroy());
    // A Put Block List's body names the blocks committed: kept (it is small) to add up their sizes.
    let blockList: Buffer[] | undefined = op.raises?.api === 'PutBlockList' ? [] : undefined;
    let blockListBytes = 0;
    if (blockList)
      req.on('data', (chunk: Buffer) => {
        blockListBytes += chunk.length;
        if (blockListBytes > MAX_BLOCK_LIST_BYTES) blockList = undefined;
        else blockList?.push(chunk);
      });
    out.on('response', (up) => {
      const status = up.statusCode ?? 500;
      if (op.stagedBlock && status === 201)
        staged.add(op.stagedBlock.key, op.stagedBlock.blockId, Number(header(req.headers, 'content-length')));
      const created =
        op.raises !== undefined &&
        (status === 201 || (status === 202 && header(up.headers, 'x-ms-copy-status') === 'success'));
      const forward = () => {
        res.writeHead(status, up.statusMessage, endToEndHeaders(up.rawHeaders));
        up.pipe(res);
      };
      if (!created || !op.raises) return forward();
      const committedSize = blockList
        ? staged.commit(
            `${op.raises.container}/${op.raises.blobName}`,
            Buffer.concat(blockList).toString('utf8'),
          )
        : undefined;
      blobCreated(op.raises, req.headers, up.headers, committedSize)
        .then((event) => {
          for (const l of listeners) l(event);
        })
        .catch((err: Error) =>
          opts.logger.error('blob event proxy: could not build the BlobCreated event; it is lost', {
            blob: `${op.raises?.container}/${op.raises?.blob}`,
            error: err.message,
          }),
        )
        .finally(forward);
    });
    req.pipe(out);
  });

  async function blobCreated(
    w: NonNullable<Operation['raises']>,
    reqHeaders: http.IncomingHttpHeaders,
    resHeaders: http.IncomingHttpHeaders,
    committedSize: number | undefined,
  ): Promise<EventGridEvent> {
    let contentType = header(reqHeaders, 'x-ms-blob-content-type') ?? header(reqHeaders, 'content-type');
    let contentLength =
      w.api === 'PutBlob'
        ? Number(header(reqHeaders, 'content-length'))
        : w.api === 'PutBlockList'
          ? (committedSize ?? Number.NaN)
          : Number.NaN;
    let blobType = header(reqHeaders, 'x-ms-blob-type') as BlobCreatedData['blobType'] | undefined;
    if (w.api === 'PutBlockList') {
      blobType = 'BlockBlob';
      contentType = header(reqHeaders, 'x-ms-blob-content-type');
    }
    if (!Number.isFinite(contentLength)) {
      // The size is not in the requests seen (a copy, or blocks staged before the proxy started): ask
      // Azurite once (constant cost per blob, no listing).
      counts.set('SizeLookup', (counts.get('SizeLookup') ?? 0) + 1);
      const props = await direct.getContainerClient(w.container).getBlobClient(w.blobName).getProperties();
      contentLength = props.contentLength ?? 0;
      contentType = props.contentType ?? contentType;
      blobType = (props.blobType as BlobCreatedData['blobType'] | undefined) ?? blobType;
    }
    sequence += 1n;
    const data: BlobCreatedData = {
      api: w.api,
      clientRequestId: header(reqHeaders, 'x-ms-client-request-id') ?? '',
      requestId: header(resHeaders, 'x-ms-request-id') ?? '',
      eTag: header(resHeaders, 'etag') ?? '',
      contentType: contentType ?? 'application/octet-stream',
      contentLength,
      blobType: blobType ?? 'BlockBlob',
      url: `${endpoint}/${w.container}/${w.blob}`,
      // Opaque, string-comparable, increasing: Event Grid's is 32 hex digits.
      sequencer: sequence.toString(16).padStart(32, '0'),
      storageDiagnostics: { batchId: randomUUID() },
    };
    return {
      id: randomUUID(),
      topic: `${LOCAL_TOPIC_PREFIX}/providers/Microsoft.Storage/storageAccounts/${w.account}`,
      subject: `/blobServices/default/containers/${w.container}/blobs/${w.blob}`,
      eventType: BLOB_CREATED,
      eventTime: new Date().toISOString(),
      data,
      dataVersion: '',
      metadataVersion: '1',
    };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  endpoint = `http://127.0.0.1:${port}${target.pathname.replace(/\/+$/, '')}`;
  return {
    blobEndpoint: endpoint,
    connectionString: withBlobEndpoint(opts.upstream, endpoint),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    operations: () => Object.fromEntries(counts),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

/** A Put Block List body larger than this (over ~80,000 block ids) falls back to a HEAD for the size. */
const MAX_BLOCK_LIST_BYTES = 8 * 1024 * 1024;
/** Blobs with staged, uncommitted blocks remembered at most (abandoned uploads are forgotten oldest first). */
const MAX_STAGED_BLOBS = 10_000;

/**
 * Sizes of blocks staged (Put Block) and not yet committed, per blob: a Put Block List's size is the sum
 * of the blocks it names, so no request to Azurite is needed for it.
 */
class StagedBlocks {
  readonly #blobs = new Map<string, Map<string, number>>();

  add(blob: string, blockId: string, size: number): void {
    if (!Number.isFinite(size)) return;
    let blocks = this.#blobs.get(blob);
    if (!blocks) {
      if (this.#blobs.size >= MAX_STAGED_BLOBS) this.#blobs.delete(this.#blobs.keys().next().value!);
      blocks = new Map();
      this.#blobs.set(blob, blocks);
    }
    blocks.set(blockId, size);
  }

  /** The committed size, or undefined when a block is not known here (e.g. a committed one reused). */
  commit(blob: string, blockListXml: string): number | undefined {
    const blocks = this.#blobs.get(blob);
    // Committing discards the blob's other uncommitted blocks, in Azure as in Azurite.
    this.#blobs.delete(blob);
    let total = 0;
    for (const m of blockListXml.matchAll(/<(Latest|Uncommitted|Committed)>([^<]*)<\/\1>/g)) {
      const size = m[1] === 'Committed' ? undefined : blocks?.get(m[2]!.trim());
      if (size === undefined) return undefined;
      total += size;
    }
    return total;
  }
}

interface Operation {
  name: string;
  /** A Put Block: which blob and block, to remember its size. */
  stagedBlock?: { key: string; blockId: string };
  raises?: {
    api: BlobCreatedData['api'];
    account: string;
    container: string;
    /** As Event Grid writes it in the subject: each path segment percent-encoded. */
    blob: string;
    /** Decoded, for SDK calls. */
    blobName: string;
  };
}

const header = (h: http.IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Raw response headers less the hop-by-hop ones, which belong to each connection, not to the message. */
function endToEndHeaders(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2)
    if (!/^(connection|keep-alive)$/i.test(raw[i]!)) out.push(raw[i]!, raw[i + 1]!);
  return out;
}

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** Names a Blob service request (path-style: /<account>/<container>/<blob>) and says whether it creates a blob. */
export function classify(method: string, rawUrl: string, headers: http.IncomingHttpHeaders): Operation {
  const url = new URL(rawUrl, 'http://local');
  const [, account = '', container = '', ...rest] = url.pathname.split('/');
  const comp = url.searchParams.get('comp');
  const restype = url.searchParams.get('restype');
  const m = method.toUpperCase();
  if (!container) return { name: comp === 'list' ? 'ListContainers' : `${m} service ${comp ?? ''}`.trim() };
  if (rest.length === 0 || restype === 'container') {
    if (comp === 'list') return { name: 'ListBlobs' };
    return { name: `${m} container${comp ? ` ${comp}` : ''}` };
  }
  const segments = rest.map(decode);
  const target = {
    account,
    container: decode(container),
    blob: segments.map((s) => encodeURIComponent(s)).join('/'),
    blobName: segments.join('/'),
  };
  if (m === 'PUT' && comp === 'blocklist')
    return { name: 'PutBlockList', raises: { api: 'PutBlockList', ...target } };
  if (m === 'PUT' && comp === 'block') {
    const blockId = url.searchParams.get('blockid');
    return {
      name: 'PutBlock',
      ...(blockId ? { stagedBlock: { key: `${target.container}/${target.blobName}`, blockId } } : {}),
    };
  }
  if (m === 'PUT' && !comp) {
    if (header(headers, 'x-ms-copy-source')) {
      const api = header(headers, 'x-ms-blob-type') ? 'PutBlobFromUrl' : 'CopyBlob';
      return { name: api, raises: { api, ...target } };
    }
    return { name: 'PutBlob', raises: { api: 'PutBlob', ...target } };
  }
  if (m === 'GET' && !comp) return { name: 'GetBlob' };
  if (m === 'HEAD' && !comp) return { name: 'GetBlobProperties' };
  return { name: `${m} blob${comp ? ` ${comp}` : ''}` };
}
