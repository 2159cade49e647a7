// The whole app locally, as `npm start` runs it: Azurite on disk behind the blob event proxy, the local
// services the settings call for (the LivePerson sandbox), the local Functions host, the archive copy and
// the progress lines. dev/start.ts adds the process around it (signals, exit code); tests call it directly.
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { createRuntime, setAppRuntime } from '../../lib/app/runtime.js';
import { readAppSettings } from '../../lib/config.js';
import type { Logger } from '../../lib/log.js';
import { StatusLog } from '../../lib/statuslog/status-log.js';
import { createStorageClients, resolveStorageConnection } from '../../lib/storage/connection.js';
import { type AzuriteInstance, startAzurite } from '../azurite.js';
import { type ArchiveMirror, startArchiveMirror } from './archive-mirror.js';
import { type BlobEventProxy, startBlobEventProxy } from './blob-events-proxy.js';
import { capturedFunctions } from './functions-core-capture.js';
import { type LocalData, openLocalData, wantsFresh } from './local-data.js';
import { type LocalHost, startLocalHost } from './local-host.js';
import type { LocalService } from './local-services.js';
import {
  loadEventGridSubscriptions,
  loadHostJson,
  loadLocalSettings,
  resolveStartSettings,
} from './local-settings.js';
import { type ProgressReporter, startProgressReporter, statusTableSource } from './progress.js';
import { backfillRange, startBanner } from './start-banner.js';

export interface LocalAppOptions {
  /** Holds local.settings.json, host.json, infra/, and gets .local-data/ and archive-local/. */
  projectDir: string;
  /** The shell environment; the app settings are written into it too (in Azure they are env variables). */
  env: Record<string, string | undefined>;
  /** Command-line arguments (`--fresh`). */
  argv: readonly string[];
  logger: Logger;
  /** The local stand-ins to start when the settings call for them (see local-services.ts). */
  services: LocalService[];
  /** Imports the function modules (they register with app.*); returns their names for the debug log. */
  loadFunctions(): Promise<string[]>;
  /** Default: PORT, else local.settings.json Host.LocalHttpPort, else 7071. */
  httpPort?: number;
  /** Azurite on 10000-10002 when free (default true; tests use random ports). */
  usualAzuritePorts?: boolean;
  progressIntervalMs?: number;
}

export interface LocalApp {
  banner: string;
  host: LocalHost;
  settings: Record<string, string>;
  data: LocalData;
  azurite: AzuriteInstance;
  blobEvents: BlobEventProxy;
  mirror: ArchiveMirror;
  /** Stops everything, in reverse order of start (the host drains its work first). */
  stop(): Promise<void>;
}

/** Azurite on its usual ports (so Storage Explorer's "local emulator" works), else on free ones. */
async function startLocalAzurite(location: string, usualPorts: boolean): Promise<AzuriteInstance> {
  if (usualPorts) {
    try {
      return await startAzurite({
        blobPort: 10000,
        queuePort: 10001,
        tablePort: 10002,
        location,
        ownProcessGroup: true,
      });
    } catch {
      // taken: random ports below
    }
  }
  return startAzurite({ location, ownProcessGroup: true });
}

export async function startLocalApp(opts: LocalAppOptions): Promise<LocalApp> {
  const { projectDir, env, logger } = opts;
  const stops: { name: string; stop: () => Promise<void> | void }[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s.stop();
      } catch (err) {
        logger.error(`stopping ${s.name} failed`, { error: (err as Error).message });
      }
    }
  };
  try {
    const data = openLocalData(projectDir, wantsFresh(opts.argv, env));
    if (data.wiped)
      logger.info(`fresh start: removed ${path.relative(projectDir, data.dir)} and the archive copy`);
    const loaded = loadLocalSettings(projectDir);
    const hostJson = loadHostJson(projectDir);

    const azurite = await startLocalAzurite(data.azuriteDir, opts.usualAzuritePorts ?? true);
    stops.push({ name: 'Azurite', stop: () => azurite.stop() });
    // Azurite has no Event Grid: the app's blob traffic goes through the proxy that raises BlobCreated.
    const blobEvents = await startBlobEventProxy({ upstream: azurite.connectionString, logger });
    stops.push({ name: 'blob event proxy', stop: () => blobEvents.close() });

    const settings = resolveStartSettings({
      file: loaded.values,
      env,
      azuriteConnectionString: blobEvents.connectionString,
    });
    const serviceLines: string[] = [];
    for (const service of opts.services) {
      if (!service.wanted(settings)) {
        serviceLines.push(...(service.notWantedBanner ?? []));
        continue;
      }
      const started = await service.start({ settings, data, logger });
      stops.push({ name: service.name, stop: () => started.stop() });
      Object.assign(settings, started.env);
      serviceLines.push(...started.banner);
    }
    // In Azure, app settings are environment variables: the functions read them the same way here.
    Object.assign(env, settings);
    // Validates every setting (a bad one stops here, named) and replaces any runtime of an earlier start.
    setAppRuntime(env, createRuntime(env));
    const appSettings = readAppSettings(settings);

    const files = await opts.loadFunctions();
    const functions = capturedFunctions();
    const host = await startLocalHost({
      functions,
      settings,
      hostJson,
      httpPort: opts.httpPort ?? Number(env.PORT || loaded.localHttpPort || 7071),
      logger,
      runTimersOnStart: true,
      blobEvents,
      eventGridSubscriptions: loadEventGridSubscriptions(projectDir),
    });
    stops.push({ name: 'Functions host', stop: () => host.stop() });
    logger.debug('function modules loaded', { files });

    const mirror = startArchiveMirror({
      events: blobEvents,
      blobs: BlobServiceClient.fromConnectionString(azurite.connectionString),
      dir: data.archiveDir,
      logger,
    });
    // Stopped after the host (which may still write while it drains): pushed before it, so popped after.
    stops.splice(stops.length - 1, 0, { name: 'archive copy', stop: () => mirror.stop() });

    const statusStorage = createStorageClients(resolveStorageConnection(settings, 'AzureWebJobsStorage'));
    const progress: ProgressReporter = startProgressReporter({
      source: statusTableSource({
        host,
        statusLog: new StatusLog(statusStorage.table(appSettings.STATUS_TABLE), logger),
        range: () => backfillRange(new Date(), appSettings.BACKFILL_DAYS),
        deliveries: Boolean(settings.GRAPH_TENANT_ID),
        archiveQueue: appSettings.ARCHIVE_QUEUE,
      }),
      logger,
      intervalMs: opts.progressIntervalMs ?? 5_000,
    });
    stops.push({ name: 'progress', stop: () => progress.stop() });

    const rel = (p: string) => path.relative(projectDir, p) || '.';
    const banner = startBanner({
      httpUrl: host.httpUrl,
      storageConnectionString: azurite.connectionString,
      storageDir: rel(data.azuriteDir),
      services: serviceLines,
      settingsSource: loaded.source ? path.relative(projectDir, loaded.source) : undefined,
      archiveDir: rel(data.archiveDir),
      functions: [...functions.keys()],
      now: new Date(),
      backfillDays: appSettings.BACKFILL_DAYS,
    });
    return { banner, host, settings, data, azurite, blobEvents, mirror, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
