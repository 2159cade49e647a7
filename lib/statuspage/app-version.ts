/**
 * The app's version, read once from the project's package.json (the deployed package keeps a trimmed
 * package.json at its root beside dist/). Found by walking up from this module, so it works from the
 * sources (lib/statuspage/) and compiled (dist/lib/statuspage/) alike; settings are never involved.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const PackageJsonSchema = z.looseObject({ name: z.string(), version: z.string() });
const PACKAGE_NAME = 'liveperson-archiver';

export function readAppVersion(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = PackageJsonSchema.safeParse(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')));
      if (pkg.success && pkg.data.name === PACKAGE_NAME) return pkg.data.version;
    } catch {
      // no (readable) package.json here: look one level up
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return 'unknown';
}

let cached: string | undefined;
/** Read on first use and kept for the life of the process (a deployment replaces the process). */
export function appVersion(): string {
  cached ??= readAppVersion();
  return cached;
}
