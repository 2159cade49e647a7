import { z } from 'zod';

/** host.json TimeSpan ("hh:mm:ss", "d.hh:mm:ss", optional ".fff") to milliseconds. */
export function parseTimeSpan(value: string, field: string): number {
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(value.trim());
  if (!m) throw new Error(`host.json ${field}: "${value}" is not a TimeSpan (expected hh:mm:ss)`);
  const [, days, h, min, s, frac] = m;
  const fraction = frac ? Number(`0.${frac}`) : 0;
  return (((Number(days ?? 0) * 24 + Number(h)) * 60 + Number(min)) * 60 + Number(s) + fraction) * 1000;
}

const timeSpan = (field: string) => z.string().transform((v) => parseTimeSpan(v, field));

// Defaults are the Storage Queues extension's documented ones (functions-bindings-storage-queue#host-json).
const queuesSchema = z
  .object({
    batchSize: z.number().int().min(1).max(32).default(16),
    newBatchThreshold: z.number().int().min(0).optional(),
    maxDequeueCount: z.number().int().min(1).default(5),
    visibilityTimeout: timeSpan('extensions.queues.visibilityTimeout').default(0),
    maxPollingInterval: timeSpan('extensions.queues.maxPollingInterval').default(60_000),
    messageEncoding: z.enum(['base64', 'none']).default('base64'),
  })
  .loose();

const hostJsonSchema = z
  .object({
    version: z.string().optional(),
    functionTimeout: timeSpan('functionTimeout').optional(),
    extensions: z
      .object({
        queues: queuesSchema.optional(),
        http: z.object({ routePrefix: z.string().optional() }).loose().optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

export interface HostConfig {
  functionTimeoutMs: number;
  queues: {
    batchSize: number;
    newBatchThreshold: number;
    maxDequeueCount: number;
    visibilityTimeoutMs: number;
    maxPollingIntervalMs: number;
    messageEncoding: 'base64' | 'none';
  };
  routePrefix: string;
}

/** Validates host.json and applies the host's defaults. Throws naming the bad field. */
export function parseHostJson(raw: unknown): HostConfig {
  const parsed = hostJsonSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`host.json ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const q = parsed.data.extensions?.queues ?? queuesSchema.parse({});
  return {
    // 5 minutes is the Consumption default; Flex/Premium default to 30 min, local dev keeps the stricter one.
    functionTimeoutMs: parsed.data.functionTimeout ?? 5 * 60_000,
    queues: {
      batchSize: q.batchSize,
      // The extension defaults newBatchThreshold to batchSize/2 (per vCPU; one here).
      newBatchThreshold: q.newBatchThreshold ?? Math.floor(q.batchSize / 2),
      maxDequeueCount: q.maxDequeueCount,
      visibilityTimeoutMs: q.visibilityTimeout,
      maxPollingIntervalMs: q.maxPollingInterval,
      messageEncoding: q.messageEncoding,
    },
    routePrefix: (parsed.data.extensions?.http?.routePrefix ?? 'api').replace(/^\/+|\/+$/g, ''),
  };
}
