// `npm start`: the whole app locally (compiled JS under dist/), no Azure account and no Core Tools needed.
// Azurite (data kept in .local-data/) + the local services the settings call for (the LivePerson sandbox
// unless a real account is configured) + the local Functions host running the compiled functions exactly
// as registered. The parts live in dev/host/ (tested there); this file is the process around them.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { consoleLogger } from '../lib/log.js';
import { importFunctionModules } from './host/function-modules.js';
import { installFunctionsCoreCapture } from './host/functions-core-capture.js';
import { type LocalApp, startLocalApp } from './host/local-app.js';
import { graphSandbox, type LocalService, livePersonSandbox } from './host/local-services.js';

// Before any function module loads @azure/functions, so its registrations are captured, not dropped.
installFunctionsCoreCapture();

/** Local stand-ins started when the settings do not configure the real system (one line per service). */
const services: LocalService[] = [livePersonSandbox, graphSandbox];

async function main() {
  const logger = consoleLogger({ debug: /^(1|true)$/i.test(process.env.DEBUG ?? '') });
  const functionsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../functions');
  let app: LocalApp | undefined;
  let shuttingDown = false;
  const shutdown = async (code: number) => {
    if (shuttingDown) process.exit(1); // a second Ctrl-C: do not wait any longer
    shuttingDown = true;
    process.stderr.write('\nStopping...\n');
    await app?.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  try {
    app = await startLocalApp({
      projectDir: process.cwd(),
      env: process.env,
      argv: process.argv.slice(2),
      logger,
      services,
      loadFunctions: () => importFunctionModules(functionsDir),
    });
    process.stdout.write(app.banner);
  } catch (err) {
    process.stderr.write(`npm start failed: ${(err as Error).message}\n`);
    await shutdown(1);
  }
}

await main();
