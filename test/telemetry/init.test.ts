import { metrics } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTelemetry } from '../../lib/telemetry/init.js';
import { telemetry } from '../../lib/telemetry/metrics.js';
import { type FakeServer, startFakeServer } from '../liveperson/support/fake-server.js';

let ingestion: FakeServer;
beforeAll(async () => {
  ingestion = await startFakeServer();
  ingestion.route('POST', /track/, () => ({ json: { itemsReceived: 1, itemsAccepted: 1, errors: [] } }));
});
afterAll(async () => {
  await ingestion.close();
});

describe('initTelemetry', () => {
  it('does nothing without APPLICATIONINSIGHTS_CONNECTION_STRING', () => {
    expect(initTelemetry({})).toBe(false);
    expect(metrics.getMeterProvider().constructor.name).toMatch(/Noop/);
  });

  it('registers Application Insights’ exporters when a connection string is set, and the app’s metrics reach them', async () => {
    const cs = `InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=${ingestion.origin}/`;
    expect(initTelemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: cs })).toBe(true);
    telemetry.conversation('archived', 2);
    // The distro's own reader (the one its Azure Monitor exporter is fed from) holds the app's metric.
    const provider = metrics.getMeterProvider() as unknown as {
      _sharedState: {
        metricCollectors: {
          collect(): Promise<{
            resourceMetrics: { scopeMetrics: { metrics: { descriptor: { name: string } }[] }[] };
          }>;
        }[];
      };
    };
    const [collector] = provider._sharedState.metricCollectors;
    const { resourceMetrics } = await collector!.collect();
    const names = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
    expect(names).toContain('lparchiver.conversations');
  });
});
