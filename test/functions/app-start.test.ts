import { describe, expect, it } from 'vitest';
import { runAppStartHooks } from '../../dev/host/functions-core-capture.js';

describe('app start hook', () => {
  it('validates every setting when the app loads and names each bad one without echoing values', async () => {
    const saved = { ...process.env };
    try {
      process.env.AzureWebJobsStorage = '';
      process.env.LP_ACCOUNT_ID = 'acct id!';
      process.env.LP_CONCURRENCY = 'many-Secret123';
      process.env.LP_APP_KEY = 'key-Secret456';
      await import('../../functions/appStart.js');
      const failure = await runAppStartHooks(process.cwd()).then(
        () => undefined,
        (err: Error) => err,
      );
      expect(failure?.name).toBe('ConfigError');
      const text = failure?.message ?? '';
      for (const name of ['AzureWebJobsStorage', 'LP_ACCOUNT_ID', 'LP_CONCURRENCY', 'LP_APP_SECRET'])
        expect(text).toContain(name);
      expect(text).not.toMatch(/Secret123|Secret456|acct id!/);
    } finally {
      process.env = saved;
    }
  });
});
