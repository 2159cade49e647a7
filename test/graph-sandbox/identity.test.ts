import { ClientCertificateCredential } from '@azure/identity';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphSandbox, startGraphSandbox } from '../../dev/graph-sandbox/index.js';
import { call, credential, eml, ensureFolder, graph, importMime, token, trustPolicy } from './helpers.js';

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

let sb: GraphSandbox;
beforeAll(async () => {
  sb = await startGraphSandbox({ seed: 11 });
});
afterAll(() => sb.stop());

function decodeJwt(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

const postToken = (body: string, tenant = sb.tenantId) =>
  call(sb, 'POST', `/${tenant}/oauth2/v2.0/token`, {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });

describe('client secret (ClientSecretCredential pointed at the sandbox)', () => {
  it('gets a Bearer JWT for Graph carrying the configured roles, tenant and app', async () => {
    const t = await credential(sb).getToken(GRAPH_SCOPE);
    const claims = decodeJwt(t.token);
    expect(claims.aud).toBe('https://graph.microsoft.com');
    expect(claims.tid).toBe(sb.tenantId);
    expect(claims.appid).toBe(sb.clientId);
    expect(claims.roles).toEqual(['Mail.ReadWrite', 'Mail-Advanced.ReadWrite.All', 'User.Read.All']);
    expect(t.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3000 * 1000);
    const me = await graph(sb, t.token, 'GET', '/v1.0/users/jane.doe@brand.example');
    expect(me.status).toBe(200);
  });

  it('answers a wrong secret with 401 invalid_client AADSTS7000215, which @azure/identity surfaces', async () => {
    await expect(credential(sb, 'wrong-secret').getToken(GRAPH_SCOPE)).rejects.toThrow(/AADSTS7000215/);
    const raw = await postToken(
      form({
        client_id: sb.clientId,
        client_secret: 'nope',
        grant_type: 'client_credentials',
        scope: GRAPH_SCOPE,
      }),
    );
    expect(raw.status).toBe(401);
    expect(raw.json()).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
  });

  it('refuses an unknown tenant, an unknown client, a non-.default scope, and a request without credentials', async () => {
    const base = {
      client_id: sb.clientId,
      client_secret: sb.clientSecret,
      grant_type: 'client_credentials',
      scope: GRAPH_SCOPE,
    };
    const tenant = await postToken(form(base), 'contoso.example');
    expect([tenant.status, tenant.json().error_codes]).toEqual([400, [90002]]);
    const client = await postToken(form({ ...base, client_id: '11111111-1111-4111-8111-111111111111' }));
    expect([client.status, client.json().error_codes]).toEqual([400, [700016]]);
    const scope = await postToken(form({ ...base, scope: 'https://graph.microsoft.com/Mail.ReadWrite' }));
    expect([scope.status, scope.json().error]).toEqual([400, 'invalid_scope']);
    const { client_secret: _omit, ...noSecret } = base;
    const none = await postToken(form(noSecret));
    expect([none.status, none.json().error_codes]).toEqual([401, [7000218]]);
  });
});

describe('certificate (ClientCertificateCredential, client assertion)', () => {
  const certCredential = (pem: string) =>
    new ClientCertificateCredential(
      sb.tenantId,
      sb.clientId,
      { certificate: pem },
      {
        authorityHost: sb.url,
        disableInstanceDiscovery: true,
        additionalPolicies: [{ policy: trustPolicy(sb), position: 'perCall' }],
      },
    );

  it('gets a token with a registered certificate and refuses an unregistered one', async () => {
    const registered = await generate([{ name: 'commonName', value: 'archiver app' }], {
      algorithm: 'sha256',
    });
    const stranger = await generate([{ name: 'commonName', value: 'someone else' }], { algorithm: 'sha256' });
    sb.registerCertificate(registered.cert);
    const t = await certCredential(registered.private + registered.cert).getToken(GRAPH_SCOPE);
    expect(decodeJwt(t.token).appidacr).toBe('2');
    expect((await graph(sb, t.token, 'GET', '/v1.0/users/jane.doe@brand.example')).status).toBe(200);
    await expect(certCredential(stranger.private + stranger.cert).getToken(GRAPH_SCOPE)).rejects.toThrow(
      /AADSTS700027/,
    );
  });
});

describe('bearer tokens on Graph calls', () => {
  it('401s a missing, a foreign and an expired token with InvalidAuthenticationToken', async () => {
    const none = await call(sb, 'GET', '/v1.0/users/jane.doe@brand.example');
    expect(none.status).toBe(401);
    expect(none.json().error.code).toBe('InvalidAuthenticationToken');
    expect(none.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const forged = await graph(
      sb,
      'eyJhbGciOiJub25lIn0.eyJyb2xlcyI6WyJNYWlsLlJlYWRXcml0ZSJdfQ.',
      'GET',
      '/v1.0/users/jane.doe@brand.example',
    );
    expect(forged.status).toBe(401);

    const short = await startGraphSandbox({ seed: 12, tokenTtlSeconds: 60 });
    try {
      const t = await token(short);
      expect((await graph(short, t, 'GET', '/v1.0/users/jane.doe@brand.example')).status).toBe(200);
      short.clock.advance(61_000);
      const expired = await graph(short, t, 'GET', '/v1.0/users/jane.doe@brand.example');
      expect(expired.status).toBe(401);
      expect(expired.json().error.message).toMatch(/expired/);
    } finally {
      await short.stop();
    }
  });

  it('403s a call whose permission the app lacks: importMime without Mail-Advanced, users without User.Read.All', async () => {
    const limited = await startGraphSandbox({ seed: 13, appPermissions: ['Mail.ReadWrite'] });
    try {
      const t = await token(limited);
      const folder = await ensureFolder(limited, t, 'jane.doe@brand.example');
      const imported = await importMime(limited, t, 'jane.doe@brand.example', folder, eml());
      expect(imported.status).toBe(403);
      expect(imported.json().error.code).toBe('ErrorAccessDenied');
      const user = await graph(limited, t, 'GET', '/v1.0/users/jane.doe@brand.example');
      expect([user.status, user.json().error.code]).toEqual([403, 'Authorization_RequestDenied']);
      expect(await limited.items('jane.doe@brand.example')).toHaveLength(0);

      limited.setAppPermissions(['Mail.ReadWrite', 'Mail-Advanced.ReadWrite.All']);
      // The old token keeps its roles (as in Entra); a new one carries the new grant.
      expect((await importMime(limited, t, 'jane.doe@brand.example', folder, eml())).status).toBe(403);
      expect(
        (await importMime(limited, await token(limited), 'jane.doe@brand.example', folder, eml())).status,
      ).toBe(201);
    } finally {
      await limited.stop();
    }
  });
});

describe('transport', () => {
  it('is HTTPS on 127.0.0.1 with a certificate only the sandbox CA vouches for', async () => {
    expect(sb.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await expect(fetch(`${sb.url}/v1.0/users`)).rejects.toThrow();
    expect(sb.env).toMatchObject({
      GRAPH_TENANT_ID: sb.tenantId,
      GRAPH_CLIENT_ID: sb.clientId,
      GRAPH_CLIENT_SECRET: sb.clientSecret,
      GRAPH_AUTHORITY_HOST: sb.url,
      GRAPH_BASE_URL: sb.url,
      GRAPH_ALLOWED_HOSTS: new URL(sb.url).host,
      GRAPH_CA_CERT_FILE: sb.caFile,
    });
  });
});
