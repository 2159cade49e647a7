import { metrics, trace } from '@opentelemetry/api';
import { type DataPoint, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRIC, telemetry } from '../../lib/telemetry/metrics.js';
import { inSpan, startConversationTrace } from '../../lib/telemetry/tracing.js';

/** A reader the test collects from on demand (what an exporter would be handed). */
class TestReader extends MetricReader {
  protected override async onForceFlush() {}
  protected override async onShutdown() {}
}

const reader = new TestReader();
const spans = new InMemorySpanExporter();
beforeAll(() => {
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
  );
});

async function points(name: string): Promise<DataPoint<unknown>[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((s) =>
    s.metrics.filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as DataPoint<unknown>[]),
  );
}

describe('telemetry', () => {
  it('emits the named metrics with their dimensions', async () => {
    telemetry.conversation('archived', 3);
    telemetry.conversation('failed');
    telemetry.delivery('delivered', 'Jane.Doe@Bank.example');
    telemetry.apiCall('graph', 'importMime', 'ok');
    telemetry.apiCall('liveperson', 'byId', 'throttled');
    telemetry.itemSize(12_345);
    telemetry.discoveryLag(42);
    telemetry.queueAgeSince('delivery', new Date(Date.now() - 5000).toISOString());
    const conv = await points(METRIC.conversations);
    expect(conv.map((p) => [p.attributes.outcome, p.value])).toEqual(
      expect.arrayContaining([
        ['archived', 3],
        ['failed', 1],
      ]),
    );
    expect((await points(METRIC.deliveries))[0]).toMatchObject({
      attributes: { outcome: 'delivered', mailbox: 'jane.doe@bank.example' },
      value: 1,
    });
    expect((await points(METRIC.apiCalls)).map((p) => p.attributes)).toEqual(
      expect.arrayContaining([
        { service: 'graph', endpoint: 'importMime', outcome: 'ok' },
        { service: 'liveperson', endpoint: 'byId', outcome: 'throttled' },
      ]),
    );
    expect((await points(METRIC.apiThrottles))[0]?.attributes).toEqual({
      service: 'liveperson',
      endpoint: 'byId',
    });
    expect(((await points(METRIC.itemSize))[0]!.value as { sum: number }).sum).toBe(12_345);
    expect(((await points(METRIC.discoveryLag))[0]!.value as { sum: number }).sum).toBe(42);
    const age = (await points(METRIC.queueAge))[0];
    expect(age?.attributes).toEqual({ queue: 'delivery' });
    expect((age!.value as { sum: number }).sum).toBeGreaterThanOrEqual(4.9);
  });

  it('carries one trace from discovery through every stage via traceparent', async () => {
    spans.reset();
    const tp = startConversationTrace('conv-1');
    const traceId = tp.split('-')[1];
    const downstream = await inSpan(
      'archive conversation',
      tp,
      { 'lparchiver.conversation_id': 'conv-1' },
      async (next) => next,
    );
    await inSpan('deliver to mailbox', downstream, {}, async () => {});
    await expect(
      inSpan('record status', downstream, {}, async () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow('boom');
    const finished = spans.getFinishedSpans();
    expect(finished.map((s) => s.name)).toEqual([
      'conversation discovered',
      'archive conversation',
      'deliver to mailbox',
      'record status',
    ]);
    for (const s of finished) expect(s.spanContext().traceId).toBe(traceId);
    expect(finished[2]?.parentSpanContext?.spanId).toBe(finished[1]?.spanContext().spanId);
    expect(finished[3]?.status.code).toBe(2); // ERROR
  });
});
