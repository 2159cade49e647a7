import { randomUUID } from 'node:crypto';

/** Resolves `%SettingName%` app-setting expressions in a binding property, as the host does at startup. */
export function resolveAppSettings(value: string, settings: Record<string, string>, where: string): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const v = settings[name];
    if (v === undefined) throw new Error(`${where}: app setting "${name}" (from %${name}%) is not defined`);
    return v;
  });
}

/**
 * Resolves `{prop}` expressions in an output binding path from the trigger's binding data (the JSON
 * payload's top-level properties and the trigger metadata), plus the built-ins `{rand-guid}` and
 * `{DateTime}`. A name that resolves to nothing is an error, as in the host ("No value for named parameter").
 */
export function resolveBindingData(template: string, data: Record<string, unknown>, where: string): string {
  const lower = new Map(Object.entries(data).map(([k, v]) => [k.toLowerCase(), v]));
  return template.replace(/\{([^{}]+)\}/g, (_, expr: string) => {
    const name = expr.trim();
    if (name.toLowerCase() === 'rand-guid') return randomUUID();
    if (name.toLowerCase() === 'datetime') return new Date().toISOString();
    let value: unknown = lower.get(name.split('.')[0]!.toLowerCase());
    for (const part of name.split('.').slice(1)) {
      value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
    }
    if (value === undefined || value === null || typeof value === 'object')
      throw new Error(`${where}: no value for named parameter "${name}" in "${template}"`);
    return String(value);
  });
}

/** A blob trigger path ("container/{name}", "c/{folder}/{name}.eml") split into container and a name matcher. */
export interface BlobPathPattern {
  container: string;
  /** Listing prefix: the literal part of the blob name before the first `{`. */
  prefix: string;
  match(blobName: string): Record<string, string> | undefined;
}

export function parseBlobPath(path: string): BlobPathPattern {
  const slash = path.indexOf('/');
  const container = slash < 0 ? path : path.slice(0, slash);
  const rest = slash < 0 ? '{name}' : path.slice(slash + 1);
  if (!container || container.includes('{'))
    throw new Error(`blob trigger path "${path}": the container must be a literal name`);
  const names: string[] = [];
  const source = rest
    .split(/(\{[^{}]+\})/)
    .map((part) => {
      const m = /^\{([^{}]+)\}$/.exec(part);
      if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]!);
      return '(.+?)';
    })
    .join('');
  const re = new RegExp(`^${source}$`, 's');
  const brace = rest.indexOf('{');
  return {
    container,
    prefix: brace < 0 ? rest : rest.slice(0, brace),
    match(blobName) {
      const m = re.exec(blobName);
      if (!m) return undefined;
      return Object.fromEntries(names.map((n, i) => [n, m[i + 1]!]));
    },
  };
}
