import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../dev/sandbox/index.js';
import {
  hmacSha1Signature,
  OAuth1Verifier,
  parseAuthorizationHeader,
  signatureBaseString,
} from '../../dev/sandbox/oauth1.js';
import { oauth1Header, searchUrl } from './helpers.js';

describe('OAuth 1.0a verification (reference vectors)', () => {
  it('builds the RFC 5849 §3.4.1.1 signature base string', () => {
    const header =
      'OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_token="kkk9d7dh3k39sjv7", ' +
      'oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="7d8f3e4a", ' +
      'oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"';
    const base = signatureBaseString(
      'POST',
      new URL('http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b'),
      parseAuthorizationHeader(header)!,
      'c2&a3=2+q',
    );
    expect(base).toBe(
      'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D' +
        '%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1' +
        '%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7',
    );
  });

  // OAuth Core 1.0 Appendix A.5 (photos.example.net): the classic HMAC-SHA1 vector.
  const vector = {
    credentials: {
      consumerKey: 'dpf43f3p2l4k3l03',
      consumerSecret: 'kd94hf93k423kf44',
      token: 'nnch734d00sl2jdk',
      tokenSecret: 'pfkkdhi9sl3r4s00',
    },
    url: new URL('http://photos.example.net/photos?file=vacation.jpg&size=original'),
    header:
      'OAuth realm="http://photos.example.net/", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", ' +
      'oauth_signature_method="HMAC-SHA1", oauth_signature="tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D", ' +
      'oauth_timestamp="1191242096", oauth_nonce="kllo9940pd9333jh", oauth_version="1.0"',
  };

  it('computes the OAuth Core 1.0 Appendix A signature', () => {
    const base = signatureBaseString('GET', vector.url, parseAuthorizationHeader(vector.header)!);
    expect(base).toBe(
      'GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03' +
        '%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1191242096' +
        '%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26size%3Doriginal',
    );
    expect(hmacSha1Signature(base, 'kd94hf93k423kf44', 'pfkkdhi9sl3r4s00')).toBe(
      'tR3+Ty81lMeYAr/Fid0kMTYa/WM=',
    );
  });

  it('accepts the vector once, then refuses the replayed nonce, a tampered query and a stale timestamp', () => {
    const verifier = new OAuth1Verifier(vector.credentials, () => 1191242096 + 10);
    expect(verifier.verify({ method: 'GET', url: vector.url, authorization: vector.header })).toEqual({
      ok: true,
    });
    expect(verifier.verify({ method: 'GET', url: vector.url, authorization: vector.header })).toEqual({
      ok: false,
      reason: 'nonce_used',
    });
    const tampered = new URL('http://photos.example.net/photos?file=vacation.jpg&size=small');
    expect(verifier.verify({ method: 'GET', url: tampered, authorization: vector.header })).toMatchObject({
      ok: false,
      reason: 'signature_invalid',
    });
    const later = new OAuth1Verifier(vector.credentials, () => 1191242096 + 301);
    expect(later.verify({ method: 'GET', url: vector.url, authorization: vector.header })).toMatchObject({
      reason: 'timestamp_refused',
    });
    const otherConsumer = new OAuth1Verifier({ ...vector.credentials, consumerKey: 'x' }, () => 1191242096);
    expect(
      otherConsumer.verify({ method: 'GET', url: vector.url, authorization: vector.header }),
    ).toMatchObject({
      reason: 'consumer_key_rejected',
    });
  });
});

describe('OAuth 1.0a over HTTP', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ conversations: 20, seed: 3 });
  });
  afterAll(() => sb.stop());
  const body = () =>
    JSON.stringify({ start: { from: sb.clock.now() - 30 * 86_400_000, to: sb.clock.now() } });
  const call = (url: string, authorization: string) =>
    fetch(url, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: body(),
    });

  it('accepts a request signed over the exact URL and query string', async () => {
    // sort=start:asc and an encoded space exercise the RFC 3986 re-encoding of query parameters.
    const url = searchUrl(sb, 'offset=0&limit=10&sort=start:asc&source=My%20Test');
    const res = await call(url, oauth1Header(sb, 'POST', url));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { _metadata: { count: number } })._metadata.count).toBe(20);
  });

  it('refuses a tampered query string, a replayed nonce, a wrong secret, a stale timestamp and no auth', async () => {
    const url = searchUrl(sb, 'offset=0&limit=10&source=test');
    const tampered = await call(
      searchUrl(sb, 'offset=0&limit=11&source=test'),
      oauth1Header(sb, 'POST', url),
    );
    expect(tampered.status).toBe(401);
    expect(((await tampered.json()) as { message: string }).message).toMatch(/signature_invalid/);

    const header = oauth1Header(sb, 'POST', url);
    expect((await call(url, header)).status).toBe(200);
    const replay = await call(url, header);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { message: string }).message).toMatch(/nonce_used/);

    expect((await call(url, oauth1Header(sb, 'POST', url, { secret: 'wrong' }))).status).toBe(401);
    const stale = Math.floor(sb.clock.now() / 1000) - 400;
    expect((await call(url, oauth1Header(sb, 'POST', url, { timestampSeconds: stale }))).status).toBe(401);
    const none = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(),
    });
    expect(none.status).toBe(401);
  });
});
