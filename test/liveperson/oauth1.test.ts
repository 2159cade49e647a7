import { describe, expect, it } from 'vitest';
import { jwtExpiry, oauth1Header } from '../../lib/liveperson/auth.js';

describe('OAuth 1.0a signing', () => {
  it('matches the RFC 5849 §1.2 / OAuth 1.0 reference vector exactly', () => {
    const header = oauth1Header(
      {
        appKey: 'dpf43f3p2l4k3l03',
        appSecret: 'kd94hf93k423kf44',
        accessToken: 'nnch734d00sl2jdk',
        accessTokenSecret: 'pfkkdhi9sl3r4s00',
      },
      'GET',
      'http://photos.example.net/photos?file=vacation.jpg&size=original',
      { nonce: 'kllo9940pd9333jh', timestamp: 1191242096 },
    );
    // The spec's signature: tR3+Ty81lMeYAr/Fid0kMTYa/WM= (percent-encoded in the header).
    expect(header).toContain('oauth_signature="tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D"');
    expect(header).toMatch(/^OAuth /);
    expect(header).toContain('oauth_consumer_key="dpf43f3p2l4k3l03"');
    expect(header).toContain('oauth_token="nnch734d00sl2jdk"');
    expect(header).toContain('oauth_signature_method="HMAC-SHA1"');
  });

  it('signs the query string: a different query gives a different signature', () => {
    const keys = { appKey: 'k', appSecret: 's', accessToken: 't', accessTokenSecret: 'ts' };
    const fixed = { nonce: 'n', timestamp: 1 };
    const a = oauth1Header(keys, 'POST', 'https://va.msghist.liveperson.net/x?offset=0&source=A', fixed);
    const b = oauth1Header(keys, 'POST', 'https://va.msghist.liveperson.net/x?offset=100&source=A', fixed);
    expect(a).not.toBe(b);
  });
});

describe('jwtExpiry', () => {
  it('reads exp from a JWT payload and tolerates opaque tokens', () => {
    const payload = Buffer.from(JSON.stringify({ exp: 1524646270 })).toString('base64url');
    expect(jwtExpiry(`h.${payload}.s`)).toBe(1524646270_000);
    expect(jwtExpiry('opaque-token')).toBeUndefined();
    expect(jwtExpiry('a.!!!notbase64.c')).toBeUndefined();
  });
});
