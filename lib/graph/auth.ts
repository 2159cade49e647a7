/**
 * App-only authentication to Microsoft Graph through @azure/identity: a client secret, a certificate
 * (PEM with its private key) or a managed identity. The authority host is checked against the allow-list
 * before a credential object exists, so a secret is never sent anywhere else. Tokens are cached here
 * until five minutes before expiry and fetched single-flight (MSAL caches too; this also spares the
 * credential's own pipeline on every call).
 */
import https from 'node:https';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
  type TokenCredentialOptions,
} from '@azure/identity';
import { GraphError } from './errors.js';
import { assertGraphUrl, isMicrosoftHost } from './hosts.js';
import type { TokenProvider } from './http.js';

export type GraphCredentialConfig =
  | { kind: 'secret'; clientId: string; secret: string }
  | { kind: 'certificate'; clientId: string; pem: string }
  | { kind: 'managedIdentity'; clientId?: string | undefined };

export interface GraphAuthConfig {
  tenantId: string;
  credential: GraphCredentialConfig;
  authorityHost: URL;
  /** The Graph resource, e.g. https://graph.microsoft.com: the token's scope is `<resource>/.default`. */
  scope: string;
  allowedHosts: readonly string[];
  /** PEM of an extra CA to trust (local sandbox only). */
  ca?: string | undefined;
}

/** A pipeline policy for @azure/identity that makes its token requests trust `ca` (and nothing else changes). */
function trustPolicy(ca: string): NonNullable<TokenCredentialOptions['additionalPolicies']>[number] {
  const agent = new https.Agent({ ca, keepAlive: true });
  return {
    position: 'perCall',
    policy: {
      name: 'graphSandboxTrust',
      sendRequest: (request, next) => {
        request.agent = agent;
        return next(request);
      },
    },
  };
}

export function createGraphCredential(cfg: GraphAuthConfig): TokenCredential {
  const c = cfg.credential;
  if (c.kind === 'managedIdentity') {
    // The platform's identity endpoint, not a host we choose: no allow-list applies.
    return c.clientId
      ? new ManagedIdentityCredential({ clientId: c.clientId })
      : new ManagedIdentityCredential();
  }
  assertGraphUrl(cfg.authorityHost, cfg.allowedHosts, 'sign-in', 'the Microsoft sign-in authority');
  const options: TokenCredentialOptions & { disableInstanceDiscovery?: boolean } = {
    authorityHost: cfg.authorityHost.origin,
    // Instance discovery asks Microsoft's public endpoint about the authority: skip it for a non-Microsoft
    // (allow-listed) authority such as the local sandbox.
    ...(isMicrosoftHost(cfg.authorityHost.hostname, 'sign-in') ? {} : { disableInstanceDiscovery: true }),
    ...(cfg.ca ? { additionalPolicies: [trustPolicy(cfg.ca)] } : {}),
  };
  if (c.kind === 'secret') return new ClientSecretCredential(cfg.tenantId, c.clientId, c.secret, options);
  return new ClientCertificateCredential(cfg.tenantId, c.clientId, { certificate: c.pem }, options);
}

const REFRESH_MARGIN_MS = 5 * 60_000;

export class GraphTokenSource implements TokenProvider {
  private cached: { value: string; refreshAt: number } | undefined;
  private inflight: Promise<string> | undefined;

  constructor(
    private readonly credential: TokenCredential,
    private readonly scope: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The current token, for scrubbing from error texts. */
  current(): string | undefined {
    return this.cached?.value;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  async token(): Promise<string> {
    if (this.cached && this.now() < this.cached.refreshAt) return this.cached.value;
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetch(): Promise<string> {
    let t: Awaited<ReturnType<TokenCredential['getToken']>>;
    try {
      t = await this.credential.getToken(`${this.scope.replace(/\/$/, '')}/.default`);
    } catch (err) {
      // @azure/identity's messages name the tenant and the AADSTS code, never the secret.
      throw new GraphError(
        `Graph sign-in failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
        'token',
        undefined,
        (err as { name?: string }).name,
        true,
      );
    }
    if (!t?.token)
      throw new GraphError('Graph sign-in returned no token', 'token', undefined, undefined, true);
    const expires = t.expiresOnTimestamp || this.now() + 60 * 60_000;
    this.cached = { value: t.token, refreshAt: Math.max(this.now(), expires - REFRESH_MARGIN_MS) };
    return t.token;
  }
}
