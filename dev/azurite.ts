import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

/** A running Azurite (Blob, Queue, Table) with the connection string the SDKs and the host settings use. */
export interface AzuriteInstance {
  connectionString: string;
  ports: { blob: number; queue: number; table: number };
  /** The Azurite process. */
  pid: number | undefined;
  stop(): Promise<void>;
}

// Azurite's well-known development account: public, documented, not a secret.
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * Starts Azurite, in memory unless `location` names a folder to keep its data in (so a restart continues
 * where it stopped). Port 0 by default, so parallel runs never collide; the real ports are read from
 * Azurite's own "listening at" lines. `--skipApiVersionCheck` because current SDKs send a newer service
 * version than Azurite declares; `--silent` because a console access-log line per request costs Azurite
 * time and nobody reads it.
 */
export async function startAzurite(
  opts: {
    blobPort?: number;
    queuePort?: number;
    tablePort?: number;
    location?: string;
    /**
     * In a process group of its own, so a terminal's Ctrl-C (sent to the whole foreground group) does not
     * stop Azurite before the host has drained its work into it; it is stopped by stop(), or killed when
     * this process exits.
     */
    ownProcessGroup?: boolean;
  } = {},
) {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('azurite/dist/src/azurite.js');
  if (opts.location) mkdirSync(opts.location, { recursive: true });
  const args = [
    entry,
    ...(opts.location ? ['--location', opts.location] : ['--inMemoryPersistence']),
    '--silent',
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--loose',
    '--blobHost',
    '127.0.0.1',
    '--queueHost',
    '127.0.0.1',
    '--tableHost',
    '127.0.0.1',
    '--blobPort',
    String(opts.blobPort ?? 0),
    '--queuePort',
    String(opts.queuePort ?? 0),
    '--tablePort',
    String(opts.tablePort ?? 0),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.ownProcessGroup ?? false,
  });
  if (opts.ownProcessGroup) {
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.off('exit', kill));
  }
  const ports = await new Promise<AzuriteInstance['ports']>((resolve, reject) => {
    const found: Partial<Record<'blob' | 'queue' | 'table', number>> = {};
    let output = '';
    const timer = setTimeout(() => fail(new Error(`Azurite did not start within 30 s:\n${output}`)), 30_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of output.matchAll(
        /Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/g,
      )) {
        found[m[1]!.toLowerCase() as 'blob' | 'queue' | 'table'] = Number(m[2]);
      }
      if (found.blob && found.queue && found.table) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(found as AzuriteInstance['ports']);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('exit', (code) => fail(new Error(`Azurite exited with code ${code}:\n${output}`)));
  });
  // Keep draining output so Azurite never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  child.removeAllListeners('exit');
  const host = 'http://127.0.0.1';
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};` +
    `BlobEndpoint=${host}:${ports.blob}/${ACCOUNT};QueueEndpoint=${host}:${ports.queue}/${ACCOUNT};` +
    `TableEndpoint=${host}:${ports.table}/${ACCOUNT};`;
  return { connectionString, ports, pid: child.pid, stop: () => stopChild(child) } satisfies AzuriteInstance;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // Azurite takes about 2 s to close its servers after SIGTERM (and saves its data when on disk);
    // SIGKILL if it hangs.
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
