/**
 * Wires OpenTelemetry to Application Insights with Microsoft's distro (@azure/monitor-opentelemetry) when
 * APPLICATIONINSIGHTS_CONNECTION_STRING is set; otherwise does nothing (the API stays no-op). In Azure,
 * local authentication is off on Application Insights: ingestion is signed in with the app's managed
 * identity when APPLICATIONINSIGHTS_AUTHENTICATION_STRING says `Authorization=AAD`.
 */
import { ManagedIdentityCredential } from '@azure/identity';
import { useAzureMonitor } from '@azure/monitor-opentelemetry';

let started = false;

export function initTelemetry(env: Record<string, string | undefined>): boolean {
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim();
  if (started || !connectionString) return started;
  const auth = env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING ?? '';
  const aad = /Authorization\s*=\s*AAD/i.test(auth);
  const clientId = /ClientId\s*=\s*([0-9a-f-]{36})/i.exec(auth)?.[1];
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString,
      ...(aad
        ? {
            credential: clientId
              ? new ManagedIdentityCredential({ clientId })
              : new ManagedIdentityCredential(),
          }
        : {}),
    },
    enableLiveMetrics: false,
  });
  started = true;
  return true;
}
