/**
 * Storage clients for one Functions "connection" name, resolved with the host's own rules so the code and
 * the bindings always reach the same account: the exact setting (a connection string) wins; otherwise the
 * `<name>__*` settings describe an identity-based connection (accountName, or per-service URIs, plus
 * credential/clientId for a user-assigned managed identity).
 */
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { z } from 'zod';

export type StorageConnection =
  | { kind: 'connectionString'; connectionString: string }
  | {
      kind: 'identity';
      blobServiceUri: string;
      /** Absent only when the caller asked for fewer services (e.g. the blob-only archive connection). */
      queueServiceUri: string;
      tableServiceUri: string;
      credential: 'managedidentity' | 'default';
      clientId?: string;
    };

const uri = z.url({ protocol: /^https?$/ });

export class StorageConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageConnectionError';
  }
}

/** Reads the settings for `name` (e.g. AzureWebJobsStorage); the error names the settings, never values. */
export function resolveStorageConnection(
  env: Record<string, string | undefined>,
  name = 'AzureWebJobsStorage',
  /** The services this connection must reach; others may be left unconfigured ('' in the result). */
  needs: readonly ('blob' | 'queue' | 'table')[] = ['blob', 'queue', 'table'],
): StorageConnection {
  const exact = env[name]?.trim();
  if (exact) return { kind: 'connectionString', connectionString: exact };
  const get = (suffix: string) => env[`${name}__${suffix}`]?.trim() || undefined;
  const account = get('accountName');
  if (account !== undefined && !/^[a-z0-9]{3,24}$/.test(account))
    throw new StorageConnectionError(
      `${name}__accountName must be a storage account name (3-24 lowercase letters/digits)`,
    );
  const service = (svc: 'blob' | 'queue' | 'table') => {
    const explicit = get(`${svc}ServiceUri`) ?? (svc === 'blob' ? get('serviceUri') : undefined);
    if (explicit) {
      if (!uri.safeParse(explicit).success)
        throw new StorageConnectionError(`${name}__${svc}ServiceUri is not a URL`);
      return explicit;
    }
    if (account) return `https://${account}.${svc}.core.windows.net`;
    throw new StorageConnectionError(
      `Storage connection "${name}" is not configured: set ${name} (connection string) or ${name}__accountName ` +
        `(or ${name}__${svc}ServiceUri) for an identity-based connection`,
    );
  };
  const blobServiceUri = needs.includes('blob') ? service('blob') : '';
  const queueServiceUri = needs.includes('queue') ? service('queue') : '';
  const tableServiceUri = needs.includes('table') ? service('table') : '';
  const cred = get('credential')?.toLowerCase();
  if (cred !== undefined && cred !== 'managedidentity')
    throw new StorageConnectionError(`${name}__credential must be "managedidentity" when set`);
  const clientId = get('clientId');
  return {
    kind: 'identity',
    blobServiceUri,
    queueServiceUri,
    tableServiceUri,
    credential: cred === 'managedidentity' ? 'managedidentity' : 'default',
    ...(clientId ? { clientId } : {}),
  };
}

export interface StorageClients {
  blobs: BlobServiceClient;
  queues: QueueServiceClient;
  tables: TableServiceClient;
  table(name: string): TableClient;
}

function credentialFor(conn: Extract<StorageConnection, { kind: 'identity' }>): TokenCredential {
  if (conn.credential === 'managedidentity')
    return conn.clientId
      ? new ManagedIdentityCredential({ clientId: conn.clientId })
      : new ManagedIdentityCredential();
  return new DefaultAzureCredential(conn.clientId ? { managedIdentityClientId: conn.clientId } : {});
}

/** Only the Blob service of a connection (the archive account, which has no queues or tables for us). */
export function createBlobServiceClient(conn: StorageConnection): BlobServiceClient {
  if (conn.kind === 'connectionString') return BlobServiceClient.fromConnectionString(conn.connectionString);
  return new BlobServiceClient(conn.blobServiceUri, credentialFor(conn));
}

export function createStorageClients(conn: StorageConnection): StorageClients {
  if (conn.kind === 'connectionString') {
    const cs = conn.connectionString;
    // Azurite and other http endpoints: the Tables SDK refuses plain http unless told.
    const insecure = /UseDevelopmentStorage=true|DefaultEndpointsProtocol=http;|Endpoint=http:/i.test(cs);
    const tableOpts = insecure ? { allowInsecureConnection: true } : {};
    return {
      blobs: BlobServiceClient.fromConnectionString(cs),
      queues: QueueServiceClient.fromConnectionString(cs),
      tables: TableServiceClient.fromConnectionString(cs, tableOpts),
      table: (name) => TableClient.fromConnectionString(cs, name, tableOpts),
    };
  }
  const credential = credentialFor(conn);
  return {
    blobs: new BlobServiceClient(conn.blobServiceUri, credential),
    queues: new QueueServiceClient(conn.queueServiceUri, credential),
    tables: new TableServiceClient(conn.tableServiceUri, credential),
    table: (name) => new TableClient(conn.tableServiceUri, name, credential),
  };
}
