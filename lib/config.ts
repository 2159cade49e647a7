/**
 * The function app's own settings (everything except the LP_* LivePerson settings, which
 * lib/liveperson/config.ts validates). Validated once at start-up; each problem names the setting and
 * never echoes its value (some settings hold secrets or connection strings).
 */
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';

const positiveInt = (name: string, def: number, max?: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0 || (max !== undefined && n > max)) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be a whole number between 1 and ${max ?? 'any'}`,
        });
        return z.NEVER;
      }
      return n;
    });

const nonNegativeInt = (name: string, def: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a whole number between 0 and ${max}` });
        return z.NEVER;
      }
      return n;
    });

/** Azure names: 3-63 lowercase letters, digits, hyphens (queues, containers). Tables: letters/digits only. */
const azureName = (def: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim() : def))
    .pipe(
      z
        .string()
        .regex(
          /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/,
          'must be 3-63 lowercase letters, digits or single hyphens',
        ),
    );
const tableName = (def: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim() : def))
    .pipe(
      z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be 3-63 letters or digits, starting with a letter'),
    );

/** NCRONTAB (6 fields, seconds first) as the Functions host reads it. */
const ncrontab = z
  .string()
  .optional()
  .transform((v) => (v?.trim() ? v.trim() : '0 */5 * * * *'))
  .refine((v) => {
    if (v.split(/\s+/).length !== 6) return false;
    try {
      CronExpressionParser.parse(v);
      return true;
    } catch {
      return false;
    }
  }, 'must be a 6-field NCRONTAB expression such as "0 */5 * * * *"');

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v?.trim() ? v.trim() : undefined));

/** LivePerson keeps conversations for 13 months; a backfill longer than that finds nothing more. */
export const MAX_BACKFILL_DAYS = 395;

export const AppSettingsSchema = z.object({
  DISCOVERY_SCHEDULE: ncrontab,
  BACKFILL_DAYS: positiveInt('BACKFILL_DAYS', 30, MAX_BACKFILL_DAYS),
  /** Re-query this far before the watermark: covers LivePerson's up-to-a-minute index lag and clock skew. */
  DISCOVERY_OVERLAP_MINUTES: positiveInt('DISCOVERY_OVERLAP_MINUTES', 15, 24 * 60),
  /** Unset = open conversations are never archived; set = an open one older than this is archived as an interim version. */
  ARCHIVE_OPEN_AFTER_HOURS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) {
        ctx.addIssue({
          code: 'custom',
          message: 'ARCHIVE_OPEN_AFTER_HOURS must be a positive number of hours',
        });
        return z.NEVER;
      }
      return n;
    }),
  /** Names the bindings read through %SETTING% expressions; the code uses the same values through the SDK. */
  ARCHIVE_QUEUE: azureName('archive-conversations'),
  ARCHIVE_CONTAINER: azureName('archive'),
  STATUS_TABLE: tableName('archivestatus'),
  WATERMARK_TABLE: tableName('discoverywatermarks'),
  FAILURE_TABLE: tableName('archivefailures'),
  /** Domain for synthetic addresses of participants without an e-mail (passed to the converter). */
  ARCHIVE_ADDRESS_DOMAIN: optionalText,
  MESSAGE_ID_DOMAIN: optionalText,
  /** How many conversations discovery enqueues in parallel. */
  DISCOVERY_ENQUEUE_CONCURRENCY: positiveInt('DISCOVERY_ENQUEUE_CONCURRENCY', 16, 256),
  /** Conversations per archive message: fetched with one by-ID call and one Bulk File Download request. */
  ARCHIVE_GROUP_SIZE: positiveInt('ARCHIVE_GROUP_SIZE', 100, 100),
  /** Conversations of one group converted and stored at a time. */
  ARCHIVE_GROUP_CONCURRENCY: positiveInt('ARCHIVE_GROUP_CONCURRENCY', 4, 32),
  /** Attempts per conversation (transient failures) before it is recorded `failed` with its last error. */
  ARCHIVE_MAX_ATTEMPTS: positiveInt('ARCHIVE_MAX_ATTEMPTS', 5, 50),
  /** Delay before a conversation is retried; doubles with each attempt, at most 15 minutes. */
  ARCHIVE_RETRY_DELAY_SECONDS: nonNegativeInt('ARCHIVE_RETRY_DELAY_SECONDS', 60, 900),

  // Mailbox delivery (on when GRAPH_TENANT_ID is set; lib/graph/config.ts reads the GRAPH_* settings).
  /** The Inbox subfolder items are imported into (Microsoft's name for the DataParser connector's folder). */
  MAILBOX_FOLDER: z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim() : 'LivePerson Conversational Cloud DataParser'))
    .pipe(
      z
        .string()
        .max(255, 'must be at most 255 characters')
        .regex(/^[^\\/]+$/, 'must not contain / or \\'),
    ),
  /** The largest item a mailbox receives, in MB; files beyond it are named in the mailbox copy instead. */
  MAILBOX_MAX_ITEM_MB: positiveInt('MAILBOX_MAX_ITEM_MB', 150, 150),
  /** Consumers are outside the tenant: their copies are off unless this is true. */
  DELIVER_TO_CONSUMERS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const t = v?.trim().toLowerCase() ?? '';
      if (t === '' || t === 'false' || t === '0' || t === 'no') return false;
      if (t === 'true' || t === '1' || t === 'yes') return true;
      ctx.addIssue({ code: 'custom', message: 'DELIVER_TO_CONSUMERS must be true or false' });
      return z.NEVER;
    }),
  /** Comma list of the tenant's mail domains; empty = any domain the tenant resolves. */
  TENANT_DOMAINS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const domains = (v ?? '')
        .split(',')
        .map((d) => d.trim().toLowerCase().replace(/^@/, ''))
        .filter(Boolean);
      for (const d of domains)
        if (!/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(d)) {
          ctx.addIssue({ code: 'custom', message: `TENANT_DOMAINS entry '${d}' is not a domain name` });
          return z.NEVER;
        }
      return domains;
    }),
  /** Receives items none of whose participants has a mailbox (unset: such items are logged `unmapped`). */
  FALLBACK_MAILBOX: z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim().toLowerCase() : undefined))
    .pipe(z.email('must be an e-mail address').optional()),
  /** `container/path.csv` in the app's storage: LivePerson id, login or e-mail → Microsoft 365 address. */
  MAILBOX_MAPPING_BLOB: z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim() : undefined))
    .pipe(
      z
        .string()
        .regex(/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}\/.+$/, 'must be container/path')
        .optional(),
    ),
  MAILBOX_RESOLVE_CACHE_HOURS: positiveInt('MAILBOX_RESOLVE_CACHE_HOURS', 24, 24 * 30),
  MAILBOX_RESOLVE_NEGATIVE_MINUTES: positiveInt('MAILBOX_RESOLVE_NEGATIVE_MINUTES', 60, 24 * 60),
  DELIVERY_QUEUE: azureName('mailbox-deliveries'),
  /** `entra`: the sign-in routes (/api/log, /api/status) require App Service Authentication's principal. */
  ADMIN_SIGN_IN: z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim().toLowerCase() : 'none'))
    .pipe(z.enum(['entra', 'none'], 'must be entra or none')),
  /** Object id of the Entra group whose members may read the log and status page (with ADMIN_SIGN_IN=entra). */
  ADMIN_ALLOWED_GROUP: z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim() : undefined))
    .pipe(z.uuid('must be the group object id (a GUID)').optional()),
  DELIVERY_PLAN_QUEUE: azureName('mailbox-plans'),
  MAILBOX_TABLE: tableName('mailboxcache'),
});

export type AppSettings = z.infer<typeof AppSettingsSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid app settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Lists every problem at once, each naming its setting (never its value). */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const name = i.path.join('.') || '(settings)';
    return i.message.startsWith(name) ? i.message : `${name}: ${i.message}`;
  });
}

export function readAppSettings(env: Record<string, string | undefined>): AppSettings {
  const parsed = AppSettingsSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error));
  return parsed.data;
}
