/**
 * What the code asks of the infrastructure, read from the code itself so the infra checks follow the code
 * without edits: the settings every zod settings schema in lib/ reads, the functions' captured binding
 * metadata, and the storage connections the bindings and lib/ use.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type CapturedFunction, capturedFunctions } from '../../dev/host/functions-core-capture.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const SETTING_NAME = /^[A-Z][A-Z0-9_]*$/;

interface ZodLike {
  _zod?: {
    def?: {
      type?: string;
      shape?: Record<string, unknown>;
      in?: unknown;
      out?: unknown;
      innerType?: unknown;
      left?: unknown;
      right?: unknown;
    };
  };
}

/** The keys of the object a zod schema reads, through pipes (transform), wrappers and intersections. */
export function schemaKeys(schema: unknown): string[] {
  const def = (schema as ZodLike | undefined)?._zod?.def;
  if (!def) return [];
  switch (def.type) {
    case 'object':
      return Object.keys(def.shape ?? {});
    case 'pipe':
      return [...schemaKeys(def.in), ...schemaKeys(def.out)];
    case 'intersection':
      return [...schemaKeys(def.left), ...schemaKeys(def.right)];
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return schemaKeys(def.innerType);
    default:
      return [];
  }
}

function libFiles(filter: (rel: string) => boolean): string[] {
  return (readdirSync(path.join(ROOT, 'lib'), { recursive: true }) as string[])
    .map((f) => f.split(path.sep).join('/'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && filter(f));
}

/**
 * Every app setting the code validates: the UPPER_SNAKE keys of every zod schema exported by a settings
 * module of lib/ (a file whose name contains "config"). Returns setting → module.
 */
export async function codeSettings(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const rel of libFiles((f) => /config/i.test(path.basename(f)))) {
    const mod = (await import(pathToFileURL(path.join(ROOT, 'lib', rel)).href)) as Record<string, unknown>;
    for (const value of Object.values(mod))
      for (const key of schemaKeys(value)) if (SETTING_NAME.test(key)) out.set(key, `lib/${rel}`);
  }
  return out;
}

/** Storage connection names lib/ resolves itself (resolveStorageConnection(env, 'Name')). */
export function codeConnections(): Set<string> {
  const names = new Set<string>();
  for (const rel of libFiles(() => true)) {
    const src = readFileSync(path.join(ROOT, 'lib', rel), 'utf8');
    for (const m of src.matchAll(/resolveStorageConnection\([^,)]+,\s*['"]([A-Za-z][\w]*)['"]/g))
      names.add(m[1]!);
  }
  return names;
}

/** Registers every module of functions/ (each registers itself with app.* on import). */
export async function loadAllFunctions(): Promise<Map<string, CapturedFunction>> {
  for (const f of readdirSync(path.join(ROOT, 'functions')).sort())
    if (f.endsWith('.ts')) await import(pathToFileURL(path.join(ROOT, 'functions', f)).href);
  return capturedFunctions();
}

export type Binding = CapturedFunction['metadata']['bindings'][string] & { functionName: string };

export function allBindings(functions: Map<string, CapturedFunction>): Binding[] {
  return [...functions.values()].flatMap((f) =>
    Object.values(f.metadata.bindings).map((b) => ({ ...b, functionName: f.metadata.name })),
  );
}

/** The storage services a binding type needs on its connection (the host's rules). */
export function servicesForBinding(type: string): ('blob' | 'queue' | 'table')[] {
  if (type === 'blobTrigger') return ['blob', 'queue']; // the blobs extension keeps receipts in queues
  if (type.startsWith('blob')) return ['blob'];
  if (type.startsWith('queue')) return ['queue'];
  if (type.startsWith('table')) return ['table'];
  return [];
}

/** %SETTING% references in a binding's string properties. */
export function settingRefs(b: Binding): string[] {
  return Object.values(b).flatMap((v) =>
    typeof v === 'string' ? [...v.matchAll(/%([^%]+)%/g)].map((m) => m[1]!) : [],
  );
}
