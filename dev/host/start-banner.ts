/** What `npm start` prints once everything runs: plain facts a new user needs, no secrets. */
export function startBanner(info: {
  httpUrl: string;
  storageConnectionString: string;
  sandboxUrl: string | undefined;
  sandboxConversations: number | undefined;
  settingsSource: string | undefined;
  archiveDir: string;
  functions: string[];
  now: Date;
}): string {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const from = day(new Date(info.now.getTime() - 7 * 86_400_000));
  const to = day(new Date(info.now.getTime() + 86_400_000));
  // Users copy these into a browser: "localhost" rather than 127.0.0.1, same port.
  const base = info.httpUrl.replace('127.0.0.1', 'localhost');
  return [
    '',
    'liveperson-archiver is running locally.',
    '',
    `  Settings:        ${info.settingsSource ?? 'none found (defaults)'}`,
    `  Functions:       ${info.functions.join(', ') || '(none)'}`,
    `  Azurite (memory) connection string:`,
    `    ${info.storageConnectionString}`,
    info.sandboxUrl
      ? `  LivePerson:      local sandbox at ${info.sandboxUrl} (${info.sandboxConversations} conversations; set SANDBOX_CONVERSATIONS to change)`
      : '  LivePerson:      the account configured in your settings',
    `  Archive copy:    ${info.archiveDir}/<container>/<path>  (open the .eml files from here)`,
    '  Archive log:',
    `    ${base}/api/log?from=${from}&to=${to}&format=csv`,
    `    ${base}/api/log/summary?from=${from}&to=${to}`,
    `  Status page:     ${base}/api/status`,
    '',
    '  Press Ctrl-C to stop (host, sandbox and Azurite stop together; Azurite data is in memory only).',
    '',
  ].join('\n');
}
