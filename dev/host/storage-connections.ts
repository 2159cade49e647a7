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
