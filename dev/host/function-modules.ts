import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Imports every compiled function module in `dir` (`*.js`, the package.json `main` glob
 * `dist/functions/*.js`), in name order. Each module registers itself with `app.*` on import, so the
 * functions-core capture must already be installed. Returns the files imported.
 */
export async function importFunctionModules(dir: string): Promise<string[]> {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.js'))
      .sort();
  } catch (err) {
    throw new Error(`no compiled functions in ${dir} (${(err as Error).message}); run "npm run build" first`);
  }
  for (const f of files) {
    try {
      await import(pathToFileURL(path.join(dir, f)).href);
    } catch (err) {
      throw new Error(`loading function module ${f} failed: ${(err as Error).message}`);
    }
  }
  return files;
}
