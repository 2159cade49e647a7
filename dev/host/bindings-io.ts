import type { Logger } from '../../lib/log.js';
import { resolveAppSettings, resolveBindingData } from './binding-expressions.js';
import type { CapturedFunction } from './functions-core-capture.js';
import type { HostConfig } from './host-config.js';
import { fromTypedData, type InvocationResponse, type RpcTypedData, toTypedData } from './invoke.js';
import type { StorageConnections } from './storage-connections.js';

type Binding = CapturedFunction['metadata']['bindings'][string];

export interface BindingContext {
  storage: StorageConnections;
  settings: Record<string, string>;
  config: HostConfig;
  logger: Logger;
  /** Called after messages were written to a queue, so listeners on it poll at once (the host's SharedQueueWatcher). */
  onQueueWrite(queueName: string): void;
}

interface PreparedBinding {
  name: string;
  binding: Binding;
  /** queueName / blob path / tableName with app settings and binding data resolved. */
  target: string;
}

const str = (b: Binding, key: string): string | undefined =>
  typeof b[key] === 'string' ? (b[key] as string) : undefined;

function targetOf(b: Binding): string | undefined {
  if (b.type === 'queue') return str(b, 'queueName');
  if (b.type === 'blob') return str(b, 'path');
  if (b.type === 'table') return str(b, 'tableName');
  return undefined;
}

/**
 * Resolves every storage input/output binding's target from the trigger's binding data before the
 * handler runs, as the host binds them: an unresolved `{prop}` fails the invocation up front.
 */
export function prepareBindings(
  fn: CapturedFunction,
  direction: 'in' | 'out',
  bindingData: Record<string, unknown>,
  ctx: BindingContext,
): PreparedBinding[] {
  const prepared: PreparedBinding[] = [];
  for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
    if (binding.direction !== direction || binding.type.endsWith('Trigger')) continue;
    const template = targetOf(binding);
    if (template === undefined) {
      if (binding.type !== 'http')
        ctx.logger.warn(`binding type "${binding.type}" is not supported by the local host; it is ignored`, {
          function: fn.metadata.name,
          binding: name,
        });
      continue;
    }
    const where = `function ${fn.metadata.name}, binding ${name}`;
    const target = resolveBindingData(resolveAppSettings(template, ctx.settings, where), bindingData, where);
    prepared.push({ name, binding, target });
  }
  return prepared;
}

function splitBlobPath(path: string, where: string): { container: string; blob: string } {
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1)
    throw new Error(`${where}: blob path "${path}" must be "container/blob"`);
  return { container: path.slice(0, slash), blob: path.slice(slash + 1) };
}

/** Reads extra inputs (blob, table) into the RPC inputData the worker expects. */
export async function readInputs(
  fn: CapturedFunction,
  prepared: PreparedBinding[],
  ctx: BindingContext,
): Promise<{ name: string; data: RpcTypedData }[]> {
  const out: { name: string; data: RpcTypedData }[] = [];
  for (const { name, binding, target } of prepared) {
    const where = `function ${fn.metadata.name}, input ${name}`;
    const connection = str(binding, 'connection');
    if (binding.type === 'blob') {
      const { container, blob } = splitBlobPath(target, where);
      const client = ctx.storage
        .blobService(connection, where)
        .getContainerClient(container)
        .getBlockBlobClient(blob);
      try {
        out.push({ name, data: { bytes: await client.downloadToBuffer() } });
      } catch (err) {
        // A missing input blob binds as null, as in the host.
        if (!isNotFound(err)) throw err;
      }
    } else if (binding.type === 'table') {
      const table = ctx.storage.table(connection, target, where);
      const pk = str(binding, 'partitionKey');
      const rk = str(binding, 'rowKey');
      if (pk !== undefined && rk !== undefined) {
        try {
          out.push({ name, data: toTypedData(toHostEntity(await table.getEntity(pk, rk))) });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      } else {
        const filters = [str(binding, 'filter'), pk !== undefined ? `PartitionKey eq '${pk}'` : undefined]
          .filter(Boolean)
          .map((f) => `(${f})`);
        const take = typeof binding.take === 'number' ? binding.take : Number.POSITIVE_INFINITY;
        const rows: unknown[] = [];
        for await (const e of table.listEntities({
          queryOptions: filters.length ? { filter: filters.join(' and ') } : {},
        })) {
          if (rows.length >= take) break;
          rows.push(toHostEntity(e));
        }
        out.push({ name, data: toTypedData(rows) });
      }
    }
  }
  return out;
}

function toHostEntity(e: Record<string, unknown>): Record<string, unknown> {
  const { partitionKey, rowKey, etag: _etag, timestamp, ...rest } = e;
  return { PartitionKey: partitionKey, RowKey: rowKey, Timestamp: timestamp, ...rest };
}

/** Writes every output binding's value (`$return` included) to storage, as the host does after the handler. */
export async function writeOutputs(
  fn: CapturedFunction,
  prepared: PreparedBinding[],
  response: InvocationResponse,
  ctx: BindingContext,
): Promise<void> {
  for (const { name, binding, target } of prepared) {
    const data = name === '$return' ? response.returnValue : response.outputData.get(name);
    const value = fromTypedData(data);
    if (value === undefined || value === null) continue;
    const where = `function ${fn.metadata.name}, output ${name}`;
    const connection = str(binding, 'connection');
    if (binding.type === 'queue') await writeQueue(target, connection, value, where, ctx);
    else if (binding.type === 'blob') await writeBlob(target, connection, value, where, ctx);
    else if (binding.type === 'table') await writeTable(binding, target, connection, value, where, ctx);
  }
}

/** Encodes one queue message per host.json messageEncoding. */
export function encodeQueueMessage(content: string | Buffer, encoding: 'base64' | 'none'): string {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  return encoding === 'base64' ? buf.toString('base64') : buf.toString('utf8');
}

async function writeQueue(
  queueName: string,
  connection: string | undefined,
  value: unknown,
  where: string,
  ctx: BindingContext,
) {
  // An array is a collector: one message per element (strings as-is, objects as JSON).
  const items = Array.isArray(value) ? value : [value];
  const queue = ctx.storage.queueService(connection, where).getQueueClient(queueName);
  await queue.createIfNotExists();
  for (const item of items) {
    const content = typeof item === 'string' || Buffer.isBuffer(item) ? item : JSON.stringify(item);
    await queue.sendMessage(encodeQueueMessage(content, ctx.config.queues.messageEncoding));
  }
  if (items.length) ctx.onQueueWrite(queueName);
}

async function writeBlob(
  path: string,
  connection: string | undefined,
  value: unknown,
  where: string,
  ctx: BindingContext,
) {
  const { container, blob } = splitBlobPath(path, where);
  const body =
    typeof value === 'string' || Buffer.isBuffer(value)
      ? Buffer.from(value as string)
      : Buffer.from(JSON.stringify(value));
  const containerClient = ctx.storage.blobService(connection, where).getContainerClient(container);
  await containerClient.createIfNotExists();
  await containerClient.getBlockBlobClient(blob).uploadData(body);
}

async function writeTable(
  binding: Binding,
  tableName: string,
  connection: string | undefined,
  value: unknown,
  where: string,
  ctx: BindingContext,
) {
  const items = Array.isArray(value) ? value : [value];
  const table = ctx.storage.table(connection, tableName, where);
  await table.createTable();
  for (const [i, item] of items.entries()) {
    if (!item || typeof item !== 'object') throw new Error(`${where}: table entity ${i} is not an object`);
    const { PartitionKey, RowKey, ...props } = item as Record<string, unknown>;
    const partitionKey = PartitionKey ?? str(binding, 'partitionKey');
    const rowKey = RowKey ?? str(binding, 'rowKey');
    if (typeof partitionKey !== 'string' || typeof rowKey !== 'string')
      throw new Error(`${where}: table entity ${i} needs string PartitionKey and RowKey (PascalCase)`);
    // The table output binding only creates: an existing row is a conflict (409) that fails the invocation.
    await table.createEntity({ partitionKey, rowKey, ...props });
  }
}

/** The SDKs' RestError carries the HTTP status; checked structurally to avoid importing a transitive package. */
export function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number } | null)?.statusCode === 404;
}
