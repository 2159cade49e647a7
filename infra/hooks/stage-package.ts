/**
 * Stages the deployment package in `.deploy/`: exactly what the Functions host loads, nothing else.
 *
 *   npx tsx infra/hooks/stage-package.ts [--no-build] [--out DIR] [--zip FILE]
 *
 * `azd up`/`azd deploy` run it as the `api` service's prepackage hook and zip `.deploy/` (azure.yaml
 * `dist: .deploy`). Contents: host.json, a trimmed package.json (main, type, dependencies), the lock file,
 * the compiled functions and lib (dist/functions, dist/lib without the CLI, no source maps) and the
 * production dependencies only (`npm ls --omit=dev`). Never: sources, tests, dev/ and bench/ tooling,
 * devDependencies, infra, local settings, Azurite data or local archive mirrors.
 *
 * It then checks the staged code: every relative import must resolve inside the package and every package
 * import must be a production dependency (or a Node built-in), so a function that reaches into dev/ or a
 * devDependency fails here, at deploy time, not in Azure at start-up.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { z } from 'zod';

const PackageJson = z.object({
  name: z.string(),
  version: z.string(),
  type: z.string().optional(),
  main: z.string(),
  engines: z.record(z.string(), z.string()).optional(),
  dependencies: z.record(z.string(), z.string()).default({}),
});

/** Compiled folders the host loads, relative to dist/, and what inside them is never deployed. */
const APP_DIRS = ['functions', 'lib'] as const;
/** The command line (lp-archive) is not part of the function app; it can load dev/ tooling (`sandbox`). */
const EXCLUDED_APP_DIRS = ['lib/cli'];

export interface StageResult {
  outDir: string;
  files: string[];
  bytes: number;
}

function copyTree(from: string, to: string, keep: (rel: string, isDir: boolean) => boolean, rel = ''): void {
  for (const entry of readdirSync(path.join(from, rel), { withFileTypes: true })) {
    const childRel = rel ? `${rel}/${entry.name}` : entry.name;
    if (!keep(childRel, entry.isDirectory())) continue;
    if (entry.isDirectory()) {
      mkdirSync(path.join(to, childRel), { recursive: true });
      copyTree(from, to, keep, childRel);
    } else if (entry.isFile()) {
      copyFileSync(path.join(from, childRel), path.join(to, childRel));
    }
  }
}

function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const childRel = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(dir, childRel));
    else out.push(childRel);
  }
  return out;
}

/** Installed paths of the production dependency tree (npm resolves hoisting and dedupe for us). */
function productionPackageDirs(root: string): string[] {
  const res = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: root,
    encoding: 'utf8',
    shell: process.platform === 'win32',
    maxBuffer: 64 * 1024 * 1024,
  });
  const dirs = (res.stdout ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && path.resolve(l) !== path.resolve(root));
  if (dirs.length === 0)
    throw new Error(`npm ls --omit=dev found no production dependencies: ${res.stderr || res.error}`);
  return dirs.map((d) => path.relative(root, d)).filter((d) => d.startsWith('node_modules'));
}

/** Every import in the staged app code resolves inside the package or to a production dependency. */
export function checkImports(outDir: string, dependencies: Record<string, string>): string[] {
  const problems: string[] = [];
  const builtins = new Set(builtinModules);
  for (const rel of listFiles(path.join(outDir, 'dist'))) {
    if (!rel.endsWith('.js')) continue;
    const file = path.join(outDir, 'dist', rel);
    // TypeScript's scanner finds static, re-export and dynamic imports, and ignores text in strings.
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: spec } of importedFiles) {
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec);
        if (!existsSync(target)) problems.push(`dist/${rel} imports ${spec}, which is not in the package`);
      } else if (!spec.startsWith('node:') && !builtins.has(spec)) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!(name in dependencies))
          problems.push(`dist/${rel} imports ${name}, which is not a production dependency`);
      }
    }
  }
  return problems;
}

export function stagePackage(
  root: string,
  outDir: string,
  opts: { build?: boolean /** Compiled output; default <root>/dist. */; distDir?: string } = {},
): StageResult {
  const distDir = opts.distDir ?? path.join(root, 'dist');
  if (opts.build !== false) {
    const build = spawnSync('npm', ['run', 'build'], {
      cwd: root,
      stdio: 'inherit',
      shell: process.platform === 'win32',
    });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  const pkg = PackageJson.parse(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')));
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  copyFileSync(path.join(root, 'host.json'), path.join(outDir, 'host.json'));
  copyFileSync(path.join(root, 'package-lock.json'), path.join(outDir, 'package-lock.json'));
  const trimmed = {
    name: pkg.name,
    version: pkg.version,
    ...(pkg.type ? { type: pkg.type } : {}),
    main: pkg.main,
    ...(pkg.engines ? { engines: pkg.engines } : {}),
    dependencies: pkg.dependencies,
  };
  writeFileSync(path.join(outDir, 'package.json'), `${JSON.stringify(trimmed, null, 2)}\n`);

  for (const dir of APP_DIRS) {
    const from = path.join(distDir, dir);
    if (!existsSync(from)) throw new Error(`dist/${dir} is missing: run "npm run build"`);
    const to = path.join(outDir, 'dist', dir);
    mkdirSync(to, { recursive: true });
    copyTree(from, to, (rel, isDir) => {
      if (EXCLUDED_APP_DIRS.includes(`${dir}/${rel}`)) return false;
      return isDir || rel.endsWith('.js');
    });
  }

  for (const dir of productionPackageDirs(root)) {
    const to = path.join(outDir, dir);
    mkdirSync(to, { recursive: true });
    // Nested node_modules are listed by npm ls on their own when they belong to the production tree.
    // TypeScript sources, declarations and source maps are never loaded at run time.
    copyTree(path.join(root, dir), to, (rel, isDir) =>
      isDir ? rel !== 'node_modules' : !/\.(?:map|ts|mts|cts)$/.test(rel),
    );
  }

  const problems = checkImports(outDir, pkg.dependencies);
  if (problems.length) throw new Error(`The staged package is incomplete:\n  ${problems.join('\n  ')}`);

  const files = listFiles(outDir);
  const bytes = files.reduce((n, f) => n + statSync(path.join(outDir, f)).size, 0);
  return { outDir, files, bytes };
}

/** Writes the staged folder as a zip (for `az functionapp deployment source config-zip`). */
export async function zipFolder(dir: string, zipFile: string): Promise<void> {
  const { ZipFile } = await import('yazl');
  const zip = new ZipFile();
  for (const rel of listFiles(dir)) zip.addFile(path.join(dir, rel), rel);
  zip.end();
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(zipFile)).on('close', resolve).on('error', reject);
  });
}

async function main(argv: string[]): Promise<void> {
  const root = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
  const arg = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const outDir = path.resolve(root, arg('--out') ?? '.deploy');
  const result = stagePackage(root, outDir, { build: !argv.includes('--no-build') });
  const mb = (result.bytes / 1024 / 1024).toFixed(1);
  process.stdout.write(`Staged ${result.files.length} files (${mb} MB) in ${path.relative(root, outDir)}\n`);
  const zip = arg('--zip');
  if (zip) {
    await zipFolder(outDir, path.resolve(root, zip));
    process.stdout.write(`Wrote ${zip}\n`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`stage-package: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
