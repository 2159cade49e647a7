/**
 * The connector's properties as the page lists them (what the compliance portal shows for a connector),
 * from the validated settings: nothing here reads the environment.
 */
import { CronExpressionParser } from 'cron-parser';
import type { AppSettings } from '../config.js';
import type { ConnectorProperties } from './model.js';

export type PropertySettings = Pick<
  AppSettings,
  | 'DISCOVERY_SCHEDULE'
  | 'BACKFILL_DAYS'
  | 'DISCOVERY_OVERLAP_MINUTES'
  | 'MAILBOX_FOLDER'
  | 'MAILBOX_MAPPING_BLOB'
  | 'FALLBACK_MAILBOX'
  | 'DELIVER_TO_CONSUMERS'
  | 'TENANT_DOMAINS'
>;

/**
 * The next `n` times an NCRONTAB schedule fires after `now` (UTC, as the Functions host reads it unless
 * WEBSITE_TIME_ZONE says otherwise). Empty if the expression cannot be read (it is validated at start-up).
 */
export function nextRuns(schedule: string, now: number, n = 2): string[] {
  try {
    const it = CronExpressionParser.parse(schedule, { currentDate: new Date(now), tz: 'UTC' });
    return it
      .take(n)
      .map((d) => d.toISOString())
      .filter((d): d is string => Boolean(d));
  } catch {
    return [];
  }
}

export function connectorProperties(
  settings: PropertySettings,
  app: {
    accountId: string;
    appVersion: string;
    /** The Graph import mode, or undefined when mailbox delivery is off. */
    deliveryImportMode: 'importMime' | 'json' | undefined;
    now: number;
  },
): ConnectorProperties {
  return {
    accountId: app.accountId,
    discoverySchedule: settings.DISCOVERY_SCHEDULE,
    nextDiscoveryRuns: nextRuns(settings.DISCOVERY_SCHEDULE, app.now),
    backfillDays: settings.BACKFILL_DAYS,
    overlapMinutes: settings.DISCOVERY_OVERLAP_MINUTES,
    mailboxFolder: settings.MAILBOX_FOLDER,
    appVersion: app.appVersion,
    delivery: app.deliveryImportMode
      ? {
          enabled: true,
          importMode: app.deliveryImportMode,
          ...(settings.MAILBOX_MAPPING_BLOB ? { mappingFile: settings.MAILBOX_MAPPING_BLOB } : {}),
          ...(settings.FALLBACK_MAILBOX ? { fallbackMailbox: settings.FALLBACK_MAILBOX } : {}),
          deliverToConsumers: settings.DELIVER_TO_CONSUMERS,
          tenantDomains: settings.TENANT_DOMAINS,
        }
      : { enabled: false },
  };
}
