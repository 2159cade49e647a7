/** The log range that covers the whole backfill: BACKFILL_DAYS back, up to today (UTC days, inclusive). */
export function backfillRange(now: Date, backfillDays: number): { from: string; to: string } {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  return { from: day(new Date(now.getTime() - backfillDays * 86_400_000)), to: day(now) };
}

/** What `npm start` prints once everything runs: plain facts a new user needs, no secrets. */
export function startBanner(info: {
  httpUrl: string;
  storageConnectionString: string;
  /** Where Azurite keeps its data (relative path), or undefined when in memory. */
  storageDir: string | undefined;
  /** One or more lines per local service (sandboxes), or what is used instead of one. */
  services: string[];
  settingsSource: string | undefined;
  archiveDir: string;
  functions: string[];
  now: Date;
  backfillDays: number;
}): string {
  const { from, to } = backfillRange(info.now, info.backfillDays);
  // Users copy these into a browser: "localhost" rather than 127.0.0.1, same port.
  const base = info.httpUrl.replace('127.0.0.1', 'localhost');
  return [
    '',
    'liveperson-archiver is running locally.',
    '',
    `  Settings:        ${info.settingsSource ?? 'none found (defaults)'}`,
    `  Functions:       ${info.functions.join(', ') || '(none)'}`,
    `  Azurite (${info.storageDir ? `data in ${info.storageDir}` : 'memory'}) connection string:`,
    `    ${info.storageConnectionString}`,
    ...info.services.map((l) => `  ${l}`),
    `  Archive copy:    ${info.archiveDir}/<container>/<path>  (open the .eml files from here)`,
    `  Archive log (the whole backfill, ${info.backfillDays} days):`,
    `    ${base}/api/log?from=${from}&to=${to}&format=csv`,
    `    ${base}/api/log/summary?from=${from}&to=${to}`,
    `  Status page:     ${base}/api/status`,
    '',
    info.storageDir
      ? `  Press Ctrl-C to stop (everything stops together). A restart continues where this run stopped;\n  \`npm start -- --fresh\` (or FRESH=1) starts from empty.`
      : '  Press Ctrl-C to stop (everything stops together; the data is in memory only).',
    '',
  ].join('\n');
}
