import { randomBytes } from 'node:crypto';
import { QueueServiceClient } from '@azure/storage-queue';
import { inject } from 'vitest';
import { type CapturedFunction, capturedFunctions } from '../../dev/host/functions-core-capture.js';
import type { Logger } from '../../lib/log.js';

/** A short unique id for function, queue, container and table names (the registry and Azurite are shared). */
export const uid = () => randomBytes(4).toString('hex');

export const settings = () => ({ AzureWebJobsStorage: inject('storageConnection') });

/** The captured registrations with these names only, so each test's host runs just its own functions. */
export function pick(...names: string[]): Map<string, CapturedFunction> {
  const all = capturedFunctions();
  return new Map(
    names.map((n) => {
      const fn = all.get(n);
      if (!fn) throw new Error(`function ${n} was not registered`);
      return [n, fn];
    }),
  );
}

export const queues = () => QueueServiceClient.fromConnectionString(inject('storageConnection'));

export const b64 = (v: unknown) =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64');

/** Every message currently in a queue (peeked, so nothing is consumed), decoded from base64. */
export async function peekAll(queueName: string): Promise<string[]> {
  const q = queues().getQueueClient(queueName);
  if (!(await q.exists())) return [];
  const res = await q.peekMessages({ numberOfMessages: 32 });
  return res.peekedMessageItems.map((m) => Buffer.from(m.messageText, 'base64').toString('utf8'));
}

/** Polls a condition with a bounded number of tries (no timing assertions: only a ceiling). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  tries = 200,
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** A logger that keeps every line, to assert on what the host reported. */
export function memoryLogger(): Logger & { lines: { level: string; message: string; fields?: unknown }[] } {
  const lines: { level: string; message: string; fields?: unknown }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** host.json for tests: fast polling, quick retries. */
export const fastHostJson = (queues: Record<string, unknown> = {}) => ({
  version: '2.0',
  functionTimeout: '00:01:00',
  extensions: {
    queues: {
      maxPollingInterval: '00:00:00.200',
      visibilityTimeout: '00:00:00',
      maxDequeueCount: 3,
      ...queues,
    },
  },
});
