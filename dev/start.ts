// `npm start`: the whole app locally (compiled JS under dist/), no Azure account and no Core Tools needed.
// Azurite in memory + the LivePerson sandbox (unless a real account is configured) + the local Functions
// host running the compiled functions exactly as registered. Logic lives in dev/host/ (tested there).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient } from '@azure/storage-blob';
import { z } from 'zod';
import { consoleLogger } from '../lib/log.js';
import { type AzuriteInstance, startAzurite } from './azurite.js';
import { startArchiveMirror } from './host/archive-mirror.js';
import { importFunctionModules } from './host/function-modules.js';
import { capturedFunctions, installFunctionsCoreCapture } from './host/functions-core-capture.js';
import { startLocalHost } from './host/local-host.js';
import {
  loadHostJson,
  loadLocalSettings,
  needsSandbox,
  resolveStartSettings,
  sandboxSize,
} from './host/local-settings.js';
import { startBanner } from './host/start-banner.js';

// Before any function module loads @azure/functions, so its registrations are captured, not dropped.
installFunctionsCoreCapture();

const sandboxHandle = z.object({
  url: z.string(),
  env: z.record(z.string(), z.string()),
  stop: z.custom<() => unknown>((v) => typeof v === 'function', 'stop must be a function'),
});
type SandboxHandle = { url: string; env: Record<string, string>; stop(): Promise<void> | void };

async function startSandbox(conversations: number, seed: number): Promise<SandboxHandle> {
  // Resolved at run time: the sandbox is another part of the dev tooling, compiled next to this file.
  const specifier = './sandbox/index.js';
  const mod = (await import(specifier)) as {
    startSandbox?: (o: { conversations: number; seed: number }) => unknown;
  };
  if (typeof mod.startSandbox !== 'function') throw new Error('dev/sandbox does not export startSandbox()');
  const handle = await mod.startSandbox({ conversations, seed });
  sandboxHandle.parse(handle);
  return handle as SandboxHandle;
}

/** Azurite on its usual ports (so Storage Explorer's "local emulator" works), else on free ones. */
async function startLocalAzurite(): Promise<AzuriteInstance> {
  try {
    return await startAzurite({ blobPort: 10000, queuePort: 10001, tablePort: 10002 });
  } catch {
    return startAzurite();
  }
}

async function main() {
  const logger = consoleLogger({ debug: /^(1|true)$/i.test(process.env.DEBUG ?? '') });
  const projectDir = process.cwd();
  const functionsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../functions');
  const loaded = loadLocalSettings(projectDir);
  const hostJson = loadHostJson(projectDir);

  const azurite = await startLocalAzurite();
  const cleanups: (() => Promise<void> | void)[] = [() => azurite.stop()];
  let shuttingDown = false;
  const shutdown = async (code: number) => {
    if (shuttingDown) process.exit(1); // a second Ctrl-C: do not wait any longer
    shuttingDown = true;
    process.stderr.write('\nStopping...\n');
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        process.stderr.write(`stop failed: ${(err as Error).message}\n`);
      }
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    const base = resolveStartSettings({
      file: loaded.values,
      env: process.env,
      azuriteConnectionString: azurite.connectionString,
    });
    let sandbox: SandboxHandle | undefined;
    let conversations: number | undefined;
    if (needsSandbox(base)) {
      conversations = sandboxSize(base);
      sandbox = await startSandbox(conversations, Number(base.SANDBOX_SEED ?? 1));
      cleanups.push(() => sandbox?.stop());
    }
    const settings = resolveStartSettings({
      file: loaded.values,
      env: process.env,
      azuriteConnectionString: azurite.connectionString,
      sandboxEnv: sandbox?.env,
    });
    // In Azure, app settings are environment variables: the functions read them the same way here.
    Object.assign(process.env, settings);

    const files = await importFunctionModules(functionsDir);
    const functions = capturedFunctions();
    const host = await startLocalHost({
      functions,
      settings,
      hostJson,
      httpPort: Number(process.env.PORT ?? loaded.localHttpPort ?? 7071),
      logger,
      runTimersOnStart: true,
    });
    cleanups.push(() => host.stop());
    const archiveDir = path.join(projectDir, 'archive-local');
    const mirror = startArchiveMirror({
      blobs: BlobServiceClient.fromConnectionString(azurite.connectionString),
      dir: archiveDir,
      logger,
    });
    cleanups.push(() => mirror.stop());

    process.stdout.write(
      startBanner({
        httpUrl: host.httpUrl,
        storageConnectionString: azurite.connectionString,
        sandboxUrl: sandbox?.url,
        sandboxConversations: conversations,
        settingsSource: loaded.source ? path.relative(projectDir, loaded.source) : undefined,
        archiveDir: path.relative(projectDir, archiveDir) || '.',
        functions: [...functions.keys()],
        now: new Date(),
      }),
    );
    logger.debug('function modules loaded', { files });
  } catch (err) {
    process.stderr.write(`npm start failed: ${(err as Error).message}\n`);
    await shutdown(1);
  }
}

await main();
