/**
 * Sentinel-style OAuth 2.0 client-credentials tokens: HS256 JWTs signed with a per-sandbox secret, expiring
 * on the sandbox clock, so tests can expire a token with clock.advance().
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export class TokenIssuer {
  private readonly secret = randomBytes(32);
  private counter = 0;

  constructor(
    private readonly accountId: string,
    private readonly nowMs: () => number,
    private readonly ttlSeconds: number,
  ) {}

  issue(scope: string): string {
    const iat = Math.floor(this.nowMs() / 1000);
    const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'sandbox' }));
    const payload = b64url(
      JSON.stringify({
        aud: `le${this.accountId}`,
        scope,
        iss: 'Sentinel',
        iat,
        exp: iat + this.ttlSeconds,
        jti: `${iat}-${++this.counter}`,
      }),
    );
    return `${header}.${payload}.${this.sign(`${header}.${payload}`)}`;
  }

  verify(token: string): { ok: true } | { ok: false; reason: string } {
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'malformed token' };
    const [header, payload, signature] = parts as [string, string, string];
    const a = Buffer.from(signature);
    const b = Buffer.from(this.sign(`${header}.${payload}`));
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, reason: 'invalid signature' };
    let claims: { exp?: unknown; aud?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed token' };
    }
    if (claims.aud !== `le${this.accountId}`) return { ok: false, reason: 'wrong audience' };
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= this.nowMs())
      return { ok: false, reason: 'token expired' };
    return { ok: true };
  }

  private sign(data: string): string {
    return createHmac('sha256', this.secret).update(data).digest('base64url');
  }
}
