import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** `npm start`'s data, kept between runs (git-ignored): Azurite's storage and the sandbox's anchor. */
export const LOCAL_DATA_DIR = '.local-data';
/** Where `npm start` copies each archived blob for the user to open. */
export const ARCHIVE_COPY_DIR = 'archive-local';

const SandboxStateSchema = z.object({ anchor: z.number().int().positive() });

export interface LocalData {
  dir: string;
  /** Azurite's --location. */
  azuriteDir: string;
  archiveDir: string;
  /** True when this start wiped the previous data (the fresh flag). */
  wiped: boolean;
  /** The sandbox's generation anchor: fixed on the first start, the same on every later one. */
  sandboxAnchor(now: number): number;
}

/** The fresh flag: `npm start -- --fresh` or FRESH=1. */
export function wantsFresh(argv: readonly string[], env: Record<string, string | undefined>): boolean {
  return argv.includes('--fresh') || /^(1|true|yes)$/i.test(env.FRESH ?? '');
}

/**
 * Opens (creates) the data folder under `projectDir`; with `fresh`, first deletes it and the archive copy,
 * so the run starts from nothing.
 */
export function openLocalData(projectDir: string, fresh: boolean): LocalData {
  const dir = path.join(projectDir, LOCAL_DATA_DIR);
  const archiveDir = path.join(projectDir, ARCHIVE_COPY_DIR);
  const wiped = fresh && (existsSync(dir) || existsSync(archiveDir));
  if (fresh) {
    rmSync(dir, { recursive: true, force: true });
    rmSync(archiveDir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  const stateFile = path.join(dir, 'sandbox.json');
  return {
    dir,
    azuriteDir: path.join(dir, 'azurite'),
    archiveDir,
    wiped,
    sandboxAnchor(now) {
      if (existsSync(stateFile)) {
        let raw: unknown;
        try {
          raw = JSON.parse(readFileSync(stateFile, 'utf8'));
        } catch (err) {
          throw new Error(
            `${stateFile}: not valid JSON (${(err as Error).message}); start with --fresh to reset`,
          );
        }
        const parsed = SandboxStateSchema.safeParse(raw);
        if (!parsed.success)
          throw new Error(`${stateFile}: ${parsed.error.issues[0]?.message}; start with --fresh to reset`);
        return parsed.data.anchor;
      }
      writeFileSync(stateFile, `${JSON.stringify({ anchor: now }, null, 2)}\n`);
      return now;
    },
  };
}
