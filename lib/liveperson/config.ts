/**
 * LivePerson settings, read once from an env-like record and validated with zod. The function app composes
 * `LivePersonEnvSchema` into its own config; the CLI calls `readLivePersonConfig(process.env)`.
 * Error messages name the setting and never echo its value (several are secrets).
 */
import { z } from 'zod';

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

type Problem = (message: string) => void;

function intSetting(
  v: string | undefined,
  name: string,
  def: number,
  min: number,
  max: number,
  problem: Problem,
) {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    problem(`${name} must be a whole number from ${min} to ${max}`);
    return def;
  }
  return n;
}

/** A host[:port] entry of LP_ALLOWED_HOSTS, lower-cased; `http://` or `https://` prefixes are tolerated. */
function parseAllowedHosts(v: string | undefined, problem: Problem): string[] {
  if (!v) return [];
  const hosts: string[] = [];
  for (const raw of v.split(',')) {
    const entry = raw
      .trim()
      .toLowerCase()
      .replace(/^https?:\/\//, '');
    if (!entry) continue;
    if (!/^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/.test(entry)) {
      problem(`LP_ALLOWED_HOSTS entry '${entry}' is not a host or host:port`);
      continue;
    }
    hosts.push(entry);
  }
  return hosts;
}

function parsePauses(v: string | undefined, problem: Problem): number[] {
  if (!v) return [5000, 10000, 15000];
  const pauses = v.split(',').map((s) => Number(s.trim()));
  if (pauses.length === 0 || pauses.some((n) => !Number.isInteger(n) || n < 0 || n > 600_000)) {
    problem(
      'LP_RETRY_PAUSES_MS must be a comma list of whole milliseconds (0..600000), e.g. 5000,10000,15000',
    );
    return [5000, 10000, 15000];
  }
  return pauses;
}

/** The raw environment names this module reads. */
export const LivePersonEnvSchema = z
  .object({
    LP_ACCOUNT_ID: optionalText,
    LP_APP_KEY: optionalText,
    LP_APP_SECRET: optionalText,
    LP_ACCESS_TOKEN: optionalText,
    LP_ACCESS_TOKEN_SECRET: optionalText,
    LP_CLIENT_ID: optionalText,
    LP_CLIENT_SECRET: optionalText,
    LP_CSDS_URL: optionalText,
    LP_ALLOWED_HOSTS: optionalText,
    LP_SOURCE: optionalText,
    LP_CONCURRENCY: optionalText,
    LP_TIMEOUT_MS: optionalText,
    LP_RETRY_BASE_MS: optionalText,
    LP_RETRY_PAUSES_MS: optionalText,
    LP_MAX_ATTEMPTS: optionalText,
    LP_USERS_REFRESH_MINUTES: optionalText,
    LP_FILES_POLL_MS: optionalText,
    LP_FILES_POLL_ATTEMPTS: optionalText,
    LP_FILES_DOWNLOAD_TIMEOUT_MS: optionalText,
    LP_FILES_DOWNLOAD_ATTEMPTS: optionalText,
    LP_FILES_POLL_MAX_MS: optionalText,
    LP_FILES_REQUEST: optionalText,
    LP_FILES_MAX_FILE_MB: optionalText,
    LP_FILES_MAX_ITEM_MB: optionalText,
    LP_FILES_MAX_ZIP_MB: optionalText,
    LP_FILES_MAX_RATIO: optionalText,
    LP_FILES_MAX_ENTRIES: optionalText,
    LP_MAX_JSON_MB: optionalText,
  })
  .transform((env, ctx) => {
    const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
    const accountId = env.LP_ACCOUNT_ID;
    if (!accountId) problem('LP_ACCOUNT_ID is required (your LivePerson account/site id)');
    else if (!/^[A-Za-z0-9_-]{1,64}$/.test(accountId))
      problem('LP_ACCOUNT_ID must be letters, digits, _ or - (a LivePerson account id)');

    const oauth1Names = ['LP_APP_KEY', 'LP_APP_SECRET', 'LP_ACCESS_TOKEN', 'LP_ACCESS_TOKEN_SECRET'] as const;
    const oauth1Set = oauth1Names.filter((n) => env[n] !== undefined);
    if (oauth1Set.length > 0 && oauth1Set.length < 4) {
      const missing = oauth1Names.filter((n) => env[n] === undefined);
      problem(`API key settings come as a set of four: missing ${missing.join(', ')}`);
    }
    const oauth2Names = ['LP_CLIENT_ID', 'LP_CLIENT_SECRET'] as const;
    const oauth2Set = oauth2Names.filter((n) => env[n] !== undefined);
    if (oauth2Set.length === 1) {
      problem(`OAuth 2.0 client credentials come as a pair: missing ${oauth2Names.find((n) => !env[n])}`);
    }
    if (oauth1Set.length === 0 && oauth2Set.length === 0) {
      problem(
        'No LivePerson credentials: set LP_APP_KEY, LP_APP_SECRET, LP_ACCESS_TOKEN, LP_ACCESS_TOKEN_SECRET ' +
          '(API key) and/or LP_CLIENT_ID, LP_CLIENT_SECRET (OAuth 2.0; needed for hosted files)',
      );
    }

    let csdsUrl = 'https://api.liveperson.net';
    if (env.LP_CSDS_URL) {
      try {
        const u = new URL(env.LP_CSDS_URL);
        if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
        if (u.username || u.password || u.search || u.hash) throw new Error('extras');
        csdsUrl = u.origin + u.pathname.replace(/\/+$/, '');
      } catch {
        problem(
          'LP_CSDS_URL must be an http(s) URL without credentials or query, e.g. https://api.liveperson.net',
        );
      }
    }

    const source = env.LP_SOURCE ?? 'LPArchiver';
    if (source.length > 20 || !/^[A-Za-z0-9_+.-]+$/.test(source))
      problem('LP_SOURCE must be 1-20 letters, digits or _ + . - (LivePerson requires it on every search)');

    const int = (name: keyof typeof env, def: number, min: number, max: number) =>
      intSetting(env[name] as string | undefined, name, def, min, max, problem);
    const concurrency = int('LP_CONCURRENCY', 4, 1, 64);
    const timeoutMs = int('LP_TIMEOUT_MS', 60_000, 100, 600_000);
    const retryBaseMs = int('LP_RETRY_BASE_MS', 1000, 0, 60_000);
    const maxAttempts = int('LP_MAX_ATTEMPTS', 6, 1, 20);
    const usersRefreshMinutes = int('LP_USERS_REFRESH_MINUTES', 60, 1, 24 * 60);
    // A Bulk File Download job takes a while at LivePerson: the first poll waits LP_FILES_POLL_MS, each later
    // one twice as long up to LP_FILES_POLL_MAX_MS (defaults: 5, 10, 20, 40, 60, 60 ... s; about 12 minutes).
    const filesPollMs = int('LP_FILES_POLL_MS', 5000, 0, 600_000);
    const filesPollMaxMs = int('LP_FILES_POLL_MAX_MS', 60_000, 0, 3_600_000);
    const filesPollAttempts = int('LP_FILES_POLL_ATTEMPTS', 15, 1, 10_000);
    // A Bulk File Download ZIP holds up to 500 MB: its transfer may take far longer than an API answer.
    const filesDownloadTimeoutMs = int('LP_FILES_DOWNLOAD_TIMEOUT_MS', 15 * 60_000, 1000, 3_600_000);
    const filesDownloadAttempts = int('LP_FILES_DOWNLOAD_ATTEMPTS', 3, 1, 20);
    const filesRequest = env.LP_FILES_REQUEST ?? 'group';
    if (filesRequest !== 'group' && filesRequest !== 'conversation')
      problem('LP_FILES_REQUEST must be group or conversation');
    // Limits on what LivePerson sends (MB = 2^20 bytes). LivePerson documents archives of at most 500 MB and
    // 50 files, consumer uploads of at most 3 MB, and Exchange Online takes messages up to 150 MB.
    const MB = 1024 * 1024;
    const maxFileBytes = int('LP_FILES_MAX_FILE_MB', 50, 1, 10_240) * MB;
    const maxItemBytes = int('LP_FILES_MAX_ITEM_MB', 100, 1, 10_240) * MB;
    const maxZipBytes = int('LP_FILES_MAX_ZIP_MB', 600, 1, 10_240) * MB;
    const maxRatio = int('LP_FILES_MAX_RATIO', 100, 2, 100_000);
    const maxEntries = int('LP_FILES_MAX_ENTRIES', 1000, 1, 1_000_000);
    const maxJsonBytes = int('LP_MAX_JSON_MB', 32, 1, 1024) * MB;
    const allowedHosts = parseAllowedHosts(env.LP_ALLOWED_HOSTS, problem);
    const retryPausesMs = parsePauses(env.LP_RETRY_PAUSES_MS, problem);

    if (ctx.issues.length > 0) return z.NEVER;
    return {
      accountId: accountId!,
      oauth1:
        oauth1Set.length === 4
          ? {
              appKey: env.LP_APP_KEY!,
              appSecret: env.LP_APP_SECRET!,
              accessToken: env.LP_ACCESS_TOKEN!,
              accessTokenSecret: env.LP_ACCESS_TOKEN_SECRET!,
            }
          : undefined,
      oauth2:
        oauth2Set.length === 2
          ? { clientId: env.LP_CLIENT_ID!, clientSecret: env.LP_CLIENT_SECRET! }
          : undefined,
      csdsUrl,
      allowedHosts,
      source,
      concurrency,
      timeoutMs,
      /** Base of the 429 backoff (LivePerson: wait at least 1 s). */
      retryBaseMs,
      /** Pauses before retrying a 5xx or network error (LivePerson: 5, 10, 15 s); the last one repeats. */
      retryPausesMs,
      maxAttempts,
      usersRefreshMs: usersRefreshMinutes * 60_000,
      /** First Bulk File Download poll after this; each later poll waits twice as long, up to filesPollMaxMs. */
      filesPollMs,
      filesPollMaxMs,
      filesPollAttempts,
      /** Time allowed for one ZIP transfer, and how many times a transfer that breaks off is started. */
      filesDownloadTimeoutMs,
      filesDownloadAttempts,
      /** One Bulk File Download job per group of conversations (an undocumented list filter), or per conversation. */
      filesRequest: filesRequest as 'group' | 'conversation',
      /** Limits on hosted files: expanded size per file and per item, ZIP size, compression ratio, entries. */
      fileLimits: { maxFileBytes, maxItemBytes, maxZipBytes, maxRatio, maxEntries },
      /** The largest JSON answer read from any LivePerson API. */
      maxJsonBytes,
    };
  });

export type LivePersonConfig = z.output<typeof LivePersonEnvSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid LivePerson configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the LP_* settings of an env-like record; throws ConfigError listing every problem. */
export function readLivePersonConfig(env: Record<string, string | undefined>): LivePersonConfig {
  const parsed = LivePersonEnvSchema.safeParse(env);
  if (!parsed.success) {
    // Messages are our own (they name the setting); zod's defaults never include input values either.
    throw new ConfigError(parsed.error.issues.map((i) => i.message));
  }
  return parsed.data;
}
