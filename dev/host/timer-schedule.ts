import { CronExpressionParser } from 'cron-parser';
import { parseTimeSpan } from './host-config.js';

export interface TimerSchedule {
  /** The first occurrence strictly after `after`. */
  next(after: Date): Date;
}

/**
 * A timer trigger schedule as the host reads it: a 6-field NCRONTAB expression (seconds first) in UTC
 * unless WEBSITE_TIME_ZONE is set, or a TimeSpan ("00:05:00") meaning a fixed interval.
 */
export function parseTimerSchedule(
  expression: string,
  opts: { timeZone?: string; where: string },
): TimerSchedule {
  const expr = expression.trim();
  if (/^(\d+\.)?\d{1,2}:\d{2}:\d{2}$/.test(expr)) {
    const ms = parseTimeSpan(expr, `${opts.where} schedule`);
    if (ms <= 0) throw new Error(`${opts.where}: schedule "${expr}" must be a positive interval`);
    return { next: (after) => new Date(after.getTime() + ms) };
  }
  const fields = expr.split(/\s+/);
  if (fields.length !== 6)
    throw new Error(
      `${opts.where}: schedule "${expr}" must be NCRONTAB with 6 fields ({second} {minute} {hour} {day} {month} {day-of-week}); it has ${fields.length}`,
    );
  const tz = opts.timeZone || 'UTC';
  let probe: ReturnType<typeof CronExpressionParser.parse>;
  try {
    probe = CronExpressionParser.parse(expr, { tz });
  } catch (err) {
    throw new Error(
      `${opts.where}: schedule "${expr}" is not a valid NCRONTAB expression: ${(err as Error).message}`,
    );
  }
  void probe;
  return {
    next: (after) => CronExpressionParser.parse(expr, { tz, currentDate: after }).next().toDate(),
  };
}
