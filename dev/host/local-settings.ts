import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

// local.settings.json as Core Tools reads it; values may be written as numbers or booleans by hand.
const localSettingsSchema = z
  .object({
    IsEncrypted: z.boolean().optional(),
    Values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    Host: z
      .object({ LocalHttpPort: z.number().int().min(0).max(65535).optional() })
      .loose()
      .optional(),
  })
  .loose();

export interface LoadedSettings {
  /** The file read, or undefined when neither exists (defaults only). */
  source: string | undefined;
  values: Record<string, string>;
  localHttpPort: number | undefined;
}

/**
 * Reads `local.settings.json`, else `local.settings.json.example` (what a fresh clone has), from `dir`.
 * Neither is fine: the defaults give a working local setup. A malformed file is an error naming it.
 */
export function loadLocalSettings(dir: string): LoadedSettings {
  for (const name of ['local.settings.json', 'local.settings.json.example']) {
    const file = path.join(dir, name);
    if (!existsSync(file)) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
    }
    const parsed = localSettingsSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${file}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
    }
    if (parsed.data.IsEncrypted)
      throw new Error(
        `${file}: encrypted settings (IsEncrypted: true) are not supported locally; decrypt them first`,
      );
    return {
      source: file,
      values: Object.fromEntries(Object.entries(parsed.data.Values).map(([k, v]) => [k, String(v)])),
      localHttpPort: parsed.data.Host?.LocalHttpPort,
    };
  }
  return { source: undefined, values: {}, localHttpPort: undefined };
}

const isDevStorage = (v: string | undefined) =>
  !v || /^\s*UseDevelopmentStorage\s*=\s*true\s*;?\s*$/i.test(v);

/** A placeholder like "<your account id>" or "changeme" counts as not configured. */
const isPlaceholder = (v: string | undefined) =>
  !v?.trim() || /^<.*>$|^(changeme|todo|xxx+)$/i.test(v.trim());

/**
 * True when no LivePerson credentials are configured (neither the API-key set nor the OAuth 2.0 client),
 * so `npm start` runs against the local sandbox. LP_USE_SANDBOX=true forces the sandbox anyway.
 */
export function needsSandbox(values: Record<string, string>): boolean {
  if (/^(1|true|yes)$/i.test(values.LP_USE_SANDBOX ?? '')) return true;
  const has = (...keys: string[]) => keys.every((k) => !isPlaceholder(values[k]));
  const apiKey = has('LP_APP_KEY', 'LP_APP_SECRET', 'LP_ACCESS_TOKEN', 'LP_ACCESS_TOKEN_SECRET');
  const oauth2 = has('LP_CLIENT_ID', 'LP_CLIENT_SECRET');
  return !(has('LP_ACCOUNT_ID') && (apiKey || oauth2));
}

/** Conversations the sandbox generates: SANDBOX_CONVERSATIONS, default 50. */
export function sandboxSize(values: Record<string, string>): number {
  const raw = values.SANDBOX_CONVERSATIONS;
  if (raw === undefined || raw === '') return 50;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 1_000_000)
    throw new Error(`SANDBOX_CONVERSATIONS: "${raw}" is not a whole number between 0 and 1000000`);
  return n;
}

/**
 * The app settings `npm start` runs with, in Core Tools' order: the file's Values, each overridden by an
 * environment variable of the same name (Core Tools skips a file value "already defined in current
 * environment variables"), plus LP_* and SANDBOX_* from the shell; then every development-storage connection (unset, or UseDevelopmentStorage=true)
 * points at the Azurite just started; then the sandbox's LP_* settings when it runs.
 */
export function resolveStartSettings(opts: {
  file: Record<string, string>;
  env: Record<string, string | undefined>;
  azuriteConnectionString: string;
  sandboxEnv?: Record<string, string> | undefined;
}): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.file)) settings[k] = opts.env[k] ?? v;
  // This app's own settings may also come from the shell alone (e.g. `SANDBOX_CONVERSATIONS=500 npm start`).
  for (const [k, v] of Object.entries(opts.env))
    if (/^(LP_|SANDBOX_)/.test(k) && v !== undefined) settings[k] = v;
  for (const key of Object.keys(settings)) {
    const looksLikeStorage = key === 'AzureWebJobsStorage' || /Storage|Connection$/i.test(key);
    if (looksLikeStorage && /^\s*UseDevelopmentStorage\s*=\s*true/i.test(settings[key]!))
      settings[key] = opts.azuriteConnectionString;
  }
  if (isDevStorage(settings.AzureWebJobsStorage)) settings.AzureWebJobsStorage = opts.azuriteConnectionString;
  settings.FUNCTIONS_WORKER_RUNTIME ??= 'node';
  if (opts.sandboxEnv) Object.assign(settings, opts.sandboxEnv);
  return settings;
}

/** A JSON file of the project, or `missing` when there is none; a file that is not JSON is named. */
function readProjectJson(file: string, missing: unknown): unknown {
  if (!existsSync(file)) return missing;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

/**
 * The host.json next to the app, or {} (the host's defaults) when there is none. `queues` overrides its
 * queue settings (tests and benches poll far more often than Azure does).
 */
export function loadHostJson(dir: string, overrides: { queues?: Record<string, unknown> } = {}): unknown {
  const hostJson = readProjectJson(path.join(dir, 'host.json'), {});
  if (!overrides.queues) return hostJson;
  const h = hostJson as { extensions?: { queues?: Record<string, unknown> } };
  return { ...h, extensions: { ...h.extensions, queues: { ...h.extensions?.queues, ...overrides.queues } } };
}

/** infra/eventgrid-subscriptions.json: the Event Grid subscriptions the deploy creates and the local host applies. */
export function loadEventGridSubscriptions(dir: string): unknown {
  return readProjectJson(path.join(dir, 'infra', 'eventgrid-subscriptions.json'), undefined);
}
