import { z } from 'zod';
import { resolveAppSettings } from './binding-expressions.js';

/** An Event Grid event in the Event Grid schema (what an `eventGridTrigger` receives as its input). */
export const EventGridEventSchema = z.object({
  id: z.string().min(1),
  topic: z.string(),
  subject: z.string(),
  eventType: z.string().min(1),
  eventTime: z.string(),
  data: z.unknown(),
  dataVersion: z.string(),
  metadataVersion: z.string(),
});
export type EventGridEvent = z.infer<typeof EventGridEventSchema>;

/** `data` of a `Microsoft.Storage.BlobCreated` event, with the fields Azure Storage sends. */
export interface BlobCreatedData {
  api: 'PutBlob' | 'PutBlockList' | 'CopyBlob' | 'PutBlobFromUrl';
  clientRequestId: string;
  requestId: string;
  eTag: string;
  contentType: string;
  contentLength: number;
  blobType: 'BlockBlob' | 'PageBlob' | 'AppendBlob';
  url: string;
  sequencer: string;
  storageDiagnostics: { batchId: string };
}

export const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';

/** Where blob events come from locally (Azurite has no Event Grid): the storage event proxy. */
export interface BlobEventSource {
  /** The blob endpoint whose writes raise events, e.g. http://127.0.0.1:PORT/devstoreaccount1. */
  readonly blobEndpoint: string;
  /** Calls `listener` for every blob created through the endpoint; returns the unsubscribe function. */
  subscribe(listener: (event: EventGridEvent) => void): () => void;
}

/**
 * `infra/eventgrid-subscriptions.json`: the Event Grid subscriptions the app needs. The deploy hook creates
 * them in Azure; the local host applies the same filters and retry policy. `%SETTING%` is an app setting.
 */
export const EventGridSubscriptionsFileSchema = z.object({
  subscriptions: z.array(
    z.object({
      name: z.string().regex(/^[A-Za-z0-9-]{3,64}$/, 'must be 3-64 letters, digits or hyphens'),
      /** The function (an eventGridTrigger) the events go to. */
      function: z.string().min(1),
      /** The app setting naming the storage account whose events are subscribed to. */
      storageConnection: z.string().min(1),
      includedEventTypes: z.array(z.string().min(1)).min(1),
      subjectBeginsWith: z.string().default(''),
      subjectEndsWith: z.string().default(''),
      maxDeliveryAttempts: z.number().int().min(1).max(30).default(30),
      eventTimeToLiveMinutes: z.number().int().min(1).max(1440).default(1440),
      deadLetterContainer: z.string().optional(),
    }),
  ),
});
export type EventGridSubscription = z.infer<typeof EventGridSubscriptionsFileSchema>['subscriptions'][number];

export function parseEventGridSubscriptions(raw: unknown, source: string): EventGridSubscription[] {
  const parsed = EventGridSubscriptionsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${source}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data.subscriptions;
}

/** A subscription with its `%SETTING%`s resolved. */
export function resolveSubscription(
  s: EventGridSubscription,
  settings: Record<string, string>,
): EventGridSubscription {
  const where = `Event Grid subscription ${s.name}`;
  return {
    ...s,
    subjectBeginsWith: resolveAppSettings(s.subjectBeginsWith, settings, where),
    subjectEndsWith: resolveAppSettings(s.subjectEndsWith, settings, where),
    ...(s.deadLetterContainer
      ? { deadLetterContainer: resolveAppSettings(s.deadLetterContainer, settings, where) }
      : {}),
  };
}

/** Event Grid's filter: event type in the list; subject prefix and suffix compared case-insensitively (its default). */
export function matchesSubscription(s: EventGridSubscription, e: EventGridEvent): boolean {
  if (!s.includedEventTypes.some((t) => t.toLowerCase() === e.eventType.toLowerCase())) return false;
  const subject = e.subject.toLowerCase();
  return (
    subject.startsWith(s.subjectBeginsWith.toLowerCase()) && subject.endsWith(s.subjectEndsWith.toLowerCase())
  );
}

/** Event Grid's retry schedule (delivery-and-retry): 10 s, 30 s, 1 min, 5, 10, 30 min, 1, 3, 6, 12 h. */
export const EVENT_GRID_RETRY_DELAYS_MS = [
  10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000,
];
