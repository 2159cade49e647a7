/**
 * The Microsoft identity platform's client-credentials flow, as far as MSAL (behind @azure/identity's
 * ClientSecretCredential and ClientCertificateCredential) uses it: the tenant's OpenID configuration and
 * the v2.0 token endpoint, with a client secret or a certificate-signed client assertion. Access tokens are
 * JWTs signed with a key made at start, carrying `roles` = the configured application permissions.
 *
 * Verification of a presented token is a map lookup (the sandbox issued every valid token), so Graph calls
 * cost no cryptography; the signature is still real so a client may decode the token.
 */
import { createHash, type KeyObject, randomUUID, X509Certificate } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { GraphError } from './errors.js';

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
const ACCEPTED_SCOPES = new Set([`${GRAPH_RESOURCE}/.default`, `${GRAPH_APP_ID}/.default`]);
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface IdentityConfig {
  tenantId: string;
  /** Other names the tenant answers to in the authority path (its verified domains). */
  tenantAliases: string[];
  clientId: string;
  clientSecret: string;
  appPermissions: string[];
  tokenTtlSeconds: number;
  now(): number;
}

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

interface IssuedToken {
  expMs: number;
  roles: ReadonlySet<string>;
}

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** An Entra (AADSTS) error, answered as the token endpoint does. */
class AadError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly aadsts: number,
    description: string,
  ) {
    super(description);
  }
}

export class Identity {
  private readonly issued = new Map<string, IssuedToken>();
  private readonly certificates = new Map<string, KeyObject>();
  private appPermissions: string[];
  private baseUrl = '';

  private constructor(
    private readonly config: IdentityConfig,
    private readonly signingKey: SigningKey,
    readonly jwks: { keys: Record<string, unknown>[] },
    private readonly kid: string,
  ) {
    this.appPermissions = [...config.appPermissions];
  }

  static async create(config: IdentityConfig): Promise<Identity> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const kid = createHash('sha256').update(JSON.stringify(jwk)).digest('base64url').slice(0, 27);
    return new Identity(config, privateKey, { keys: [{ ...jwk, kid, use: 'sig', alg: 'ES256' }] }, kid);
  }

  setBaseUrl(url: string): void {
    this.baseUrl = url;
  }

  setAppPermissions(permissions: readonly string[]): void {
    this.appPermissions = [...permissions];
  }

  /** Registers a certificate (PEM) as a credential of the app; returns its thumbprints (base64url). */
  registerCertificate(pem: string): { x5t: string; 'x5t#S256': string } {
    const cert = new X509Certificate(pem);
    const sha1 = createHash('sha1').update(cert.raw).digest('base64url');
    const sha256 = createHash('sha256').update(cert.raw).digest('base64url');
    this.certificates.set(`x5t:${sha1}`, cert.publicKey);
    this.certificates.set(`x5t#S256:${sha256}`, cert.publicKey);
    return { x5t: sha1, 'x5t#S256': sha256 };
  }

  knowsTenant(segment: string): boolean {
    const s = segment.toLowerCase();
    return s === this.config.tenantId || this.config.tenantAliases.some((a) => a.toLowerCase() === s);
  }

  private tokenEndpoint(tenant = this.config.tenantId): string {
    return `${this.baseUrl}/${tenant}/oauth2/v2.0/token`;
  }

  openidConfiguration(): Record<string, unknown> {
    const t = this.config.tenantId;
    const b = this.baseUrl;
    return {
      token_endpoint: this.tokenEndpoint(),
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${b}/${t}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${b}/${t}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${b}/oidc/userinfo`,
      authorization_endpoint: `${b}/${t}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${b}/${t}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${b}/${t}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'ver', 'oid'],
      kerberos_endpoint: `${b}/${t}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'sandbox.invalid',
      cloud_graph_host_name: 'graph.sandbox.invalid',
      msgraph_host: 'graph.sandbox.invalid',
    };
  }

  /** POST /{tenant}/oauth2/v2.0/token with a form body. */
  async token(tenantSegment: string, form: URLSearchParams): Promise<TokenAnswer> {
    try {
      const acr = await this.authenticate(tenantSegment, form);
      return { status: 200, body: await this.issue(this.appPermissions, acr) };
    } catch (e) {
      if (!(e instanceof AadError)) throw e;
      const traceId = randomUUID();
      const correlationId = form.get('client-request-id') ?? randomUUID();
      const timestamp = new Date(this.config.now())
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
      return {
        status: e.status,
        body: {
          error: e.error,
          error_description: `AADSTS${e.aadsts}: ${e.message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
          error_codes: [e.aadsts],
          timestamp,
          trace_id: traceId,
          correlation_id: correlationId,
          error_uri: `${this.baseUrl}/error?code=${e.aadsts}`,
        },
      };
    }
  }

  /** Checks the request; returns appidacr: '1' for a client secret, '2' for a certificate. */
  private async authenticate(tenantSegment: string, form: URLSearchParams): Promise<'1' | '2'> {
    const c = this.config;
    if (!this.knowsTenant(tenantSegment)) {
      throw new AadError(
        400,
        'invalid_tenant',
        90002,
        `Tenant '${tenantSegment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
    }
    const grant = form.get('grant_type');
    if (grant !== 'client_credentials') {
      throw new AadError(
        400,
        'unsupported_grant_type',
        70003,
        `The app requested an unsupported grant type '${grant ?? ''}'.`,
      );
    }
    const clientId = form.get('client_id');
    if (clientId !== c.clientId) {
      throw new AadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId ?? ''}' was not found in the directory '${c.tenantId}'.`,
      );
    }
    const scope = form.get('scope') ?? '';
    if (!ACCEPTED_SCOPES.has(scope.trim())) {
      throw new AadError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null && assertion !== null) {
      throw new AadError(
        401,
        'invalid_client',
        50027,
        'Only one client credential may be presented: client_secret or client_assertion.',
      );
    }
    if (secret !== null) {
      if (secret !== c.clientSecret) {
        throw new AadError(
          401,
          'invalid_client',
          7000215,
          `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${c.clientId}'.`,
        );
      }
      return '1';
    }
    if (assertion !== null) {
      if (form.get('client_assertion_type') !== JWT_BEARER) {
        throw new AadError(400, 'invalid_request', 50027, `client_assertion_type must be '${JWT_BEARER}'.`);
      }
      await this.verifyAssertion(tenantSegment, assertion);
      return '2';
    }
    throw new AadError(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }

  private async verifyAssertion(tenantSegment: string, jwt: string): Promise<void> {
    const c = this.config;
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(jwt);
    } catch {
      throw new AadError(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
    }
    const sha256 = header['x5t#S256'];
    const key =
      (typeof sha256 === 'string' ? this.certificates.get(`x5t#S256:${sha256}`) : undefined) ??
      (typeof header.x5t === 'string' ? this.certificates.get(`x5t:${header.x5t}`) : undefined);
    if (!key) {
      throw new AadError(
        401,
        'invalid_client',
        700027,
        `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${String(sha256 ?? header.x5t ?? '')}']`,
      );
    }
    let claims: Record<string, unknown>;
    try {
      const { payload } = await compactVerify(jwt, key, { algorithms: ['RS256', 'PS256'] });
      claims = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new AadError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
    }
    const audiences = new Set([
      this.tokenEndpoint(),
      this.tokenEndpoint(tenantSegment),
      `${this.baseUrl}/${c.tenantId}/v2.0`,
    ]);
    const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!auds.some((a) => typeof a === 'string' && audiences.has(a))) {
      throw new AadError(
        401,
        'invalid_client',
        700021,
        `Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials. Audience claim: '${String(claims.aud)}'.`,
      );
    }
    if (claims.iss !== c.clientId || claims.sub !== c.clientId) {
      throw new AadError(
        401,
        'invalid_client',
        700023,
        'Client assertion contains an invalid issuer or subject: both must be the client id.',
      );
    }
    const nowS = c.now() / 1000;
    const exp = typeof claims.exp === 'number' ? claims.exp : undefined;
    const nbf = typeof claims.nbf === 'number' ? claims.nbf : undefined;
    if (exp === undefined || exp <= nowS || (nbf !== undefined && nbf > nowS + 300)) {
      throw new AadError(
        401,
        'invalid_client',
        700024,
        `Client assertion is not within its valid time range. Current time: ${new Date(c.now()).toISOString()}, assertion valid from ${nbf ? new Date(nbf * 1000).toISOString() : '-'}, expiry time of assertion ${exp ? new Date(exp * 1000).toISOString() : '-'}.`,
      );
    }
  }

  private async issue(roles: readonly string[], appidacr: '1' | '2'): Promise<Record<string, unknown>> {
    const c = this.config;
    const nowS = Math.floor(c.now() / 1000);
    const exp = nowS + c.tokenTtlSeconds;
    const accessToken = await new SignJWT({
      aud: GRAPH_RESOURCE,
      iss: `https://sts.windows.net/${c.tenantId}/`,
      iat: nowS,
      nbf: nowS,
      exp,
      app_displayname: 'liveperson-archiver (sandbox)',
      appid: c.clientId,
      appidacr,
      idp: `https://sts.windows.net/${c.tenantId}/`,
      idtyp: 'app',
      oid: c.clientId,
      roles: [...roles],
      sub: c.clientId,
      tid: c.tenantId,
      uti: randomUUID().replace(/-/g, '').slice(0, 22),
      ver: '1.0',
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: this.kid })
      .sign(this.signingKey);
    this.prune();
    this.issued.set(accessToken, { expMs: exp * 1000, roles: new Set(roles) });
    return {
      token_type: 'Bearer',
      expires_in: c.tokenTtlSeconds,
      ext_expires_in: c.tokenTtlSeconds,
      access_token: accessToken,
    };
  }

  private prune(): void {
    if (this.issued.size < 10_000) return;
    const now = this.config.now();
    for (const [k, v] of this.issued) if (v.expMs <= now) this.issued.delete(k);
  }

  /** The roles of a valid bearer token, or a 401 InvalidAuthenticationToken. */
  authorize(authorization: string | undefined): ReadonlySet<string> {
    const m = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    if (!m) throw invalidToken('Access token is empty.');
    const t = this.issued.get(m[1]!);
    if (!t) throw invalidToken('Access token validation failure. Invalid signature.');
    if (t.expMs <= this.config.now()) throw invalidToken('Lifetime validation failed, the token is expired.');
    return t.roles;
  }
}

function invalidToken(message: string): GraphError {
  return new GraphError(401, 'InvalidAuthenticationToken', message, {
    'www-authenticate':
      'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
  });
}
