import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLivePersonClient } from '../../lib/liveperson/client.js';
import { readLivePersonConfig } from '../../lib/liveperson/config.js';
import { assertAllowedUrl, baseUrlOf } from '../../lib/liveperson/host-policy.js';
import { envFor, type FakeServer, fakeJwt, serveCsds, startFakeServer } from './support/fake-server.js';

describe('host policy', () => {
  const allowed = ['127.0.0.1:7777'];
  it.each([
    'https://va.msghist.liveperson.net/x',
    'https://LO.SENTINEL.LIVEPERSON.NET/',
    'https://a.b.liveperson.net./',
    'http://127.0.0.1:7777/sandbox',
  ])('accepts %s', (url) => {
    expect(() => assertAllowedUrl(url, allowed, 'test')).not.toThrow();
  });

  it.each([
    ['https://evil.com/', 'not a LivePerson host'],
    ['https://liveperson.net.evil.com/', 'not a LivePerson host'],
    ['https://evilliveperson.net/', 'not a LivePerson host'],
    ['https://liveperson.net/', 'not a LivePerson host'],
    ['https://x@evil.com/', 'user info'],
    ['https://va.msghist.liveperson.net@evil.com/', 'user info'],
    ['https://evil.com#.liveperson.net', 'not a LivePerson host'],
    ['https://evil.com/?.liveperson.net', 'not a LivePerson host'],
    ['http://va.msghist.liveperson.net/', 'not https'],
    ['https://va.msghist.liveperson.net:8443/', 'non-standard port'],
    ['https://127.0.0.1:7778/', 'non-standard port'],
    ['http://127.0.0.1:7778/', 'not https'],
    ['ftp://va.msghist.liveperson.net/', 'not https'],
    ['not a url', 'not a valid URL'],
  ])('refuses %s', (url, why) => {
    expect(() => assertAllowedUrl(url, allowed, 'test')).toThrow(why);
  });

  it.each([
    'evil.com',
    'liveperson.net.evil.com',
    'x@evil.com',
    'evil.com/va.msghist.liveperson.net',
    'evil.com?.liveperson.net',
    'va.msghist.liveperson.net/../evil',
    'va.msghist.liveperson.net:444',
    'https://evil.com',
    '',
  ])('refuses the CSDS answer %j', (answer) => {
    expect(() => baseUrlOf(answer, allowed, 'https:', 'msgHist')).toThrow(/Refusing to contact/);
  });

  it('builds https bases from bare CSDS hosts, http only for allow-listed hosts behind an http CSDS', () => {
    expect(baseUrlOf('va.msghist.liveperson.net', allowed, 'https:', 'msgHist').href).toBe(
      'https://va.msghist.liveperson.net/',
    );
    expect(baseUrlOf('127.0.0.1:7777', allowed, 'http:', 'msgHist').href).toBe('http://127.0.0.1:7777/');
  });
});

describe('a poisoned CSDS answer never receives a credential', () => {
  let lp: FakeServer;
  let attacker: FakeServer;
  beforeAll(async () => {
    lp = await startFakeServer();
    attacker = await startFakeServer();
    attacker.route('POST', /.*/, () => ({ json: { access_token: fakeJwt(9e9, 1) } }));
    attacker.route('GET', /.*/, () => ({ json: [] }));
    // Every service resolves to the attacker's host, which is not in the allow-list.
    serveCsds(lp, 'acct1', {
      msgHist: attacker.host,
      sentinel: attacker.host,
      accountConfigReadOnly: `${attacker.host}/x@${lp.host}`,
      fms: attacker.host,
    });
  });
  afterAll(async () => {
    await lp.close();
    await attacker.close();
  });

  it('refuses search, users, token and files, and the attacker sees no request at all', async () => {
    // Only the real LP host is allowed; the attacker's port differs.
    const client = createLivePersonClient(readLivePersonConfig(envFor(lp)));
    await expect(
      client
        .searchConversations({ start: { from: 0, to: 1000 } })
        [Symbol.asyncIterator]()
        .next(),
    ).rejects.toThrow(/Refusing to contact/);
    await expect(client.getUsers()).rejects.toThrow(/Refusing to contact/);
    const files = client.hostedFiles('c1');
    await expect(files({ conversationId: 'c1', messageId: 'm', relativePath: '/a.png' })).rejects.toThrow(
      /Refusing to contact/,
    );
    await files.dispose();
    expect(attacker.requests).toHaveLength(0);
    // And the only requests LP's own host got were the (unauthenticated) CSDS lookups.
    expect(lp.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });
});
