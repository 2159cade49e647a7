import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';

/**
 * Storage clients for a binding's `connection` name, resolved like the host: the setting `X`, else
 * `AzureWebJobsX`; no name means `AzureWebJobsStorage`. Only connection strings are supported locally
 * (including `UseDevelopmentStorage=true`, which the SDKs map to Azurite's default ports); identity-based
 * `X__accountName` settings are an Azure-only concern and get a clear error here.
 */
export class StorageConnections {
  readonly #settings: Record<string, string>;
  readonly #queues = new Map<string, QueueServiceClient>();
  readonly #blobs = new Map<string, BlobServiceClient>();

  constructor(settings: Record<string, string>) {
    this.#settings = settings;
  }

  connectionString(connection: string | undefined, where: string): string {
    const name = connection || 'AzureWebJobsStorage';
    const value = this.#settings[name] ?? this.#settings[`AzureWebJobs${name}`];
    if (value) return value;
    const identity = Object.keys(this.#settings).some((k) => k.startsWith(`${name}__`));
    throw new Error(
      identity
        ? `${where}: connection "${name}" uses identity-based settings (${name}__*), which the local host does not support; set "${name}" to a connection string`
        : `${where}: connection "${name}" is not set in the app settings`,
    );
  }

  queueService(connection: string | undefined, where: string): QueueServiceClient {
    const cs = this.connectionString(connection, where);
    let client = this.#queues.get(cs);
    if (!client) {
      client = QueueServiceClient.fromConnectionString(cs);
      this.#queues.set(cs, client);
    }
    return client;
  }

  blobService(connection: string | undefined, where: string): BlobServiceClient {
    const cs = this.connectionString(connection, where);
    let client = this.#blobs.get(cs);
    if (!client) {
      client = BlobServiceClient.fromConnectionString(cs);
      this.#blobs.set(cs, client);
    }
    return client;
  }

  table(connection: string | undefined, tableName: string, where: string): TableClient {
    const cs = this.connectionString(connection, where);
    return TableClient.fromConnectionString(cs, tableName, {
      allowInsecureConnection: cs.includes('http://') || cs.includes('UseDevelopmentStorage=true'),
    });
  }
}

// Azurite's well-known development account (public, documented; what UseDevelopmentStorage=true means).
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** A storage connection string as ordered key/value pairs (values may contain '=', e.g. AccountKey). */
function parseConnectionString(cs: string): [string, string][] {
  if (/^\s*UseDevelopmentStorage\s*=\s*true\s*;?\s*$/i.test(cs))
    cs =
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
      `BlobEndpoint=http://127.0.0.1:10000/${DEV_ACCOUNT};QueueEndpoint=http://127.0.0.1:10001/${DEV_ACCOUNT};` +
      `TableEndpoint=http://127.0.0.1:10002/${DEV_ACCOUNT};`;
  return cs
    .split(';')
    .filter((p) => p.includes('='))
    .map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()];
    });
}

/** The blob endpoint a connection string names (no trailing slash), or undefined for an account-only one. */
export function blobEndpointOf(cs: string): string | undefined {
  const v = parseConnectionString(cs).find(([k]) => k.toLowerCase() === 'blobendpoint')?.[1];
  return v?.replace(/\/+$/, '');
}

/** The same connection with its blob endpoint replaced (queue and table endpoints unchanged). */
export function withBlobEndpoint(cs: string, blobEndpoint: string): string {
  const pairs = parseConnectionString(cs).filter(([k]) => k.toLowerCase() !== 'blobendpoint');
  return `${[...pairs, ['BlobEndpoint', blobEndpoint]].map(([k, v]) => `${k}=${v}`).join(';')};`;
}
