import { describe, expect, it } from 'vitest';
import { ConfigError, readLivePersonConfig } from '../../lib/liveperson/config.js';

const keys = {
  LP_APP_KEY: 'k-value-secret',
  LP_APP_SECRET: 's-value-secret',
  LP_ACCESS_TOKEN: 't-value-secret',
  LP_ACCESS_TOKEN_SECRET: 'ts-value-secret',
};

function problems(env: Record<string, string | undefined>): string[] {
  try {
    readLivePersonConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('readLivePersonConfig', () => {
  it('applies defaults with API keys only', () => {
    const c = readLivePersonConfig({ LP_ACCOUNT_ID: '12345678', ...keys });
    expect(c.csdsUrl).toBe('https://api.liveperson.net');
    expect(c.source).toBe('LPArchiver');
    expect(c.concurrency).toBe(4);
    expect(c.retryPausesMs).toEqual([5000, 10000, 15000]);
    expect(c.retryBaseMs).toBe(1000);
    expect(c.oauth1?.appKey).toBe('k-value-secret');
    expect(c.oauth2).toBeUndefined();
    expect(c.usersRefreshMs).toBe(60 * 60_000);
  });

  it('parses overrides and the allow-list', () => {
    const c = readLivePersonConfig({
      LP_ACCOUNT_ID: 'le81823118',
      LP_CLIENT_ID: 'id',
      LP_CLIENT_SECRET: 'secret',
      LP_CSDS_URL: 'http://127.0.0.1:9000/',
      LP_ALLOWED_HOSTS: ' 127.0.0.1:9000, http://LOCALHOST:9001 ',
      LP_CONCURRENCY: '8',
      LP_RETRY_PAUSES_MS: '1,2,3',
      LP_SOURCE: 'Org_Archiver',
    });
    expect(c.csdsUrl).toBe('http://127.0.0.1:9000');
    expect(c.allowedHosts).toEqual(['127.0.0.1:9000', 'localhost:9001']);
    expect(c.concurrency).toBe(8);
    expect(c.retryPausesMs).toEqual([1, 2, 3]);
    expect(c.oauth1).toBeUndefined();
    expect(c.oauth2).toEqual({ clientId: 'id', clientSecret: 'secret' });
  });

  it('names each missing or malformed setting, never its value', () => {
    const p = problems({
      LP_APP_KEY: 'k-value-secret',
      LP_CLIENT_SECRET: 'only-secret-value',
      LP_CONCURRENCY: 'lots',
      LP_SOURCE: 'a-source-name-that-is-far-too-long',
      LP_CSDS_URL: 'https://user:pw-secret@api.liveperson.net',
    });
    const text = p.join('\n');
    expect(text).toContain('LP_ACCOUNT_ID is required');
    expect(text).toContain('missing LP_APP_SECRET, LP_ACCESS_TOKEN, LP_ACCESS_TOKEN_SECRET');
    expect(text).toContain('missing LP_CLIENT_ID');
    expect(text).toContain('LP_CONCURRENCY must be a whole number');
    expect(text).toContain('LP_SOURCE must be 1-20');
    expect(text).toContain('LP_CSDS_URL must be');
    for (const secret of ['k-value-secret', 'only-secret-value', 'pw-secret'])
      expect(text).not.toContain(secret);
  });

  it('requires some credentials', () => {
    expect(problems({ LP_ACCOUNT_ID: '1' }).join()).toContain('No LivePerson credentials');
  });

  it('rejects an account id that could alter URLs', () => {
    expect(problems({ LP_ACCOUNT_ID: '../x', ...keys }).join()).toContain('LP_ACCOUNT_ID must be');
  });
});
