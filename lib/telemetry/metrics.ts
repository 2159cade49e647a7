/**
 * The app's own metrics (OpenTelemetry → Application Insights `customMetrics`, attributes become
 * customDimensions). Names are fixed: infra/queries/*.kql and the alert rules read them. Without a meter
 * provider (no APPLICATIONINSIGHTS_CONNECTION_STRING) every call goes to OpenTelemetry's no-op meter: no
 * cost beyond a function call.
 */
import { type Counter, type Histogram, type MeterProvider, metrics } from '@opentelemetry/api';

export const METRIC = {
  conversations: 'lparchiver.conversations',
  deliveries: 'lparchiver.deliveries',
  apiCalls: 'lparchiver.api.calls',
  apiThrottles: 'lparchiver.api.throttles',
  itemSize: 'lparchiver.item.size',
  discoveryLag: 'lparchiver.discovery.lag',
  queueAge: 'lparchiver.queue.age',
} as const;

export type ConversationOutcome = 'discovered' | 'archived' | 'partial' | 'failed' | 'duplicate';
export type DeliveryOutcome = 'delivered' | 'duplicate' | 'unmapped' | 'failed';

interface Instruments {
  provider: MeterProvider;
  conversations: Counter;
  deliveries: Counter;
  apiCalls: Counter;
  apiThrottles: Counter;
  itemSize: Histogram;
  discoveryLag: Histogram;
  queueAge: Histogram;
}

let instruments: Instruments | undefined;

/** Instruments of the current global provider (re-created if telemetry was set up after first use). */
function get(): Instruments {
  const provider = metrics.getMeterProvider();
  if (instruments?.provider === provider) return instruments;
  const meter = provider.getMeter('lparchiver');
  instruments = {
    provider,
    conversations: meter.createCounter(METRIC.conversations, { description: 'Conversations by outcome' }),
    deliveries: meter.createCounter(METRIC.deliveries, { description: 'Mailbox deliveries by outcome' }),
    apiCalls: meter.createCounter(METRIC.apiCalls, { description: 'LivePerson and Graph calls' }),
    apiThrottles: meter.createCounter(METRIC.apiThrottles, { description: 'Throttled calls (429/503)' }),
    itemSize: meter.createHistogram(METRIC.itemSize, { description: 'Archived item size', unit: 'By' }),
    discoveryLag: meter.createHistogram(METRIC.discoveryLag, {
      description: 'Now minus the discovery watermark',
      unit: 's',
    }),
    queueAge: meter.createHistogram(METRIC.queueAge, {
      description: 'Age of a queue message when handled',
      unit: 's',
    }),
  };
  return instruments;
}

export const telemetry = {
  conversation(outcome: ConversationOutcome, n = 1): void {
    if (n > 0) get().conversations.add(n, { outcome });
  },
  delivery(outcome: DeliveryOutcome, mailbox: string): void {
    get().deliveries.add(1, { outcome, mailbox: mailbox.toLowerCase() });
  },
  apiCall(service: 'liveperson' | 'graph', endpoint: string, outcome: 'ok' | 'throttled' | 'error'): void {
    const g = get();
    g.apiCalls.add(1, { service, endpoint, outcome });
    if (outcome === 'throttled') g.apiThrottles.add(1, { service, endpoint });
  },
  itemSize(bytes: number): void {
    get().itemSize.record(bytes, { kind: 'eml' });
  },
  discoveryLag(seconds: number): void {
    get().discoveryLag.record(Math.max(0, seconds));
  },
  queueAge(queue: string, seconds: number): void {
    if (Number.isFinite(seconds)) get().queueAge.record(Math.max(0, seconds), { queue });
  },
  /** Queue age from a trigger's `insertionTime` metadata (ignored when absent or unreadable). */
  queueAgeSince(queue: string, insertionTime: unknown, now = Date.now()): void {
    const at =
      typeof insertionTime === 'string' || insertionTime instanceof Date
        ? new Date(insertionTime).getTime()
        : Number.NaN;
    if (Number.isFinite(at)) this.queueAge(queue, (now - at) / 1000);
  },
};
