import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_USER_ROLES, type GraphSandbox, startGraphSandbox } from '../../dev/graph-sandbox/index.js';
import { graph, token } from './helpers.js';

let sb: GraphSandbox;
let t: string;
beforeAll(async () => {
  sb = await startGraphSandbox({ seed: 21 });
  t = await token(sb);
});
afterAll(() => sb.stop());

const filter = (expr: string, select = 'id,mail,userPrincipalName') =>
  graph(sb, t, 'GET', `/v1.0/users?${new URLSearchParams({ $filter: expr, $select: select })}`);

describe('the default tenant', () => {
  it('has one user per current LivePerson human agent or manager, a fallback mailbox, and no deleted agent', () => {
    const upns = sb.users.map((u) => u.userPrincipalName.toLowerCase());
    expect(upns).toContain('jane.doe@brand.example');
    expect(upns).toContain(DEFAULT_USER_ROLES.fallback);
    expect(upns).not.toContain(DEFAULT_USER_ROLES.noAccount);
    expect(sb.mailboxes()).not.toContain(DEFAULT_USER_ROLES.noMailbox);
    expect(
      sb.users.every((u) =>
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u.id),
      ),
    ).toBe(true);
  });

  it('derives ids from the seed', async () => {
    const again = await startGraphSandbox({ seed: 21 });
    const other = await startGraphSandbox({ seed: 22 });
    try {
      expect(again.users.map((u) => u.id)).toEqual(sb.users.map((u) => u.id));
      expect(other.users[0]!.id).not.toBe(sb.users[0]!.id);
      expect(again.tenantId).toBe(sb.tenantId);
    } finally {
      await again.stop();
      await other.stop();
    }
  });
});

describe('GET /users/{id | userPrincipalName}', () => {
  it('finds a user by UPN (case-insensitively) and by id, with the default property set', async () => {
    const byUpn = await graph(sb, t, 'GET', '/v1.0/users/JANE.DOE@brand.example');
    expect(byUpn.status).toBe(200);
    const u = byUpn.json();
    expect(u.userPrincipalName).toBe('jane.doe@brand.example');
    expect(u.mail).toBe('jane.doe@brand.example');
    expect(u).not.toHaveProperty('proxyAddresses');
    const byId = await graph(sb, t, 'GET', `/v1.0/users/${u.id}?$select=id,proxyAddresses,accountEnabled`);
    expect(byId.json()).toMatchObject({
      id: u.id,
      proxyAddresses: ['SMTP:jane.doe@brand.example'],
      accountEnabled: true,
    });
  });

  it('does not find a user by a mail that is not its UPN, nor an unknown one (404 Request_ResourceNotFound)', async () => {
    for (const key of [DEFAULT_USER_ROLES.mailOnly, DEFAULT_USER_ROLES.noAccount]) {
      const r = await graph(sb, t, 'GET', `/v1.0/users/${key}`);
      expect(r.status).toBe(404);
      expect(r.json().error.code).toBe('Request_ResourceNotFound');
    }
  });

  it('refuses an unknown $select property', async () => {
    const r = await graph(sb, t, 'GET', '/v1.0/users/jane.doe@brand.example?$select=id,shoeSize');
    expect(r.status).toBe(400);
  });
});

describe('GET /users?$filter=…', () => {
  it('finds the mail-only user by mail, the proxy-only user by proxy address, case-insensitively', async () => {
    const byMail = await filter(`mail eq '${DEFAULT_USER_ROLES.mailOnly.toUpperCase()}'`);
    expect(byMail.status).toBe(200);
    expect(byMail.json().value).toHaveLength(1);
    expect(byMail.json().value[0].userPrincipalName).toMatch(/onmicrosoft/);

    expect((await filter(`mail eq '${DEFAULT_USER_ROLES.proxyOnly}'`)).json().value).toHaveLength(0);
    expect(
      (await filter(`userPrincipalName eq '${DEFAULT_USER_ROLES.proxyOnly}'`)).json().value,
    ).toHaveLength(0);
    const byProxy = await filter(
      `proxyAddresses/any(x:x eq 'smtp:${DEFAULT_USER_ROLES.proxyOnly}')`,
      'id,mail,proxyAddresses',
    );
    expect(byProxy.json().value).toHaveLength(1);
    expect(byProxy.json().value[0].mail).toBe('d.ivanov@brand.example');

    const mixed = await filter(`mail eq '${DEFAULT_USER_ROLES.mixedCase}'`);
    expect(mixed.json().value[0].mail).toBe('Noa.Levi@brand.example');
  });

  it("combines clauses with 'or' and 'in', and returns an empty list for nobody", async () => {
    const r = await filter(
      `mail eq 'jane.doe@brand.example' or userPrincipalName in ('li.wei@brand.example','omar.haddad@brand.example') or proxyAddresses/any(a:a eq 'SMTP:${DEFAULT_USER_ROLES.proxyOnly}')`,
    );
    expect(r.status).toBe(200);
    expect(
      r
        .json()
        .value.map((u: { mail: string }) => u.mail)
        .sort(),
    ).toEqual(['d.ivanov@brand.example', 'jane.doe@brand.example', 'omar.haddad@brand.example']);
    expect((await filter(`mail eq '${DEFAULT_USER_ROLES.noAccount}'`)).json().value).toEqual([]);
  });

  it('refuses what it does not support with 400 Request_UnsupportedQuery, and more than 15 or-clauses', async () => {
    for (const expr of [
      "startswith(mail,'jane')",
      "mail eq 'a@b' and mail eq 'c@d'",
      "displayName eq 'Jane Doe'",
      "proxyAddresses/any(x:endswith(x,'@brand.example'))",
      "mail eq 'unterminated",
    ]) {
      const r = await filter(expr);
      expect(r.status, expr).toBe(400);
      expect(r.json().error.code, expr).toBe('Request_UnsupportedQuery');
    }
    const many = Array.from({ length: 16 }, (_, i) => `mail eq 'u${i}@brand.example'`).join(' or ');
    expect((await filter(many)).json().error.message).toMatch(/Max allowed: 15/);
    expect((await filter(many.split(' or ').slice(0, 15).join(' or '))).status).toBe(200);
  });

  it('pages with $top and @odata.nextLink, and counts only with ConsistencyLevel: eventual', async () => {
    const first = await graph(sb, t, 'GET', '/v1.0/users?$top=5&$count=true');
    expect(first.json().value).toHaveLength(5);
    expect(first.json()).not.toHaveProperty('@odata.count');
    const seen = [...first.json().value];
    let next: string | undefined = first.json()['@odata.nextLink'];
    while (next) {
      const page = await graph(sb, t, 'GET', next);
      seen.push(...page.json().value);
      next = page.json()['@odata.nextLink'];
    }
    expect(seen.map((u) => u.id)).toEqual(sb.users.map((u) => u.id));
    const counted = await graph(sb, t, 'GET', '/v1.0/users?$top=1&$count=true', undefined, {
      consistencylevel: 'eventual',
    });
    expect(counted.json()['@odata.count']).toBe(sb.users.length);
  });
});

describe('mailbox calls for users without a usable mailbox', () => {
  it('404s an unknown user (ErrorInvalidUser) and a user without a mailbox (MailboxNotEnabledForRESTAPI)', async () => {
    const unknown = await graph(
      sb,
      t,
      'GET',
      `/v1.0/users/${DEFAULT_USER_ROLES.noAccount}/mailFolders/inbox`,
    );
    expect([unknown.status, unknown.json().error.code]).toEqual([404, 'ErrorInvalidUser']);
    const noMailbox = await graph(
      sb,
      t,
      'GET',
      `/v1.0/users/${DEFAULT_USER_ROLES.noMailbox}/mailFolders/inbox`,
    );
    expect([noMailbox.status, noMailbox.json().error.code]).toEqual([404, 'MailboxNotEnabledForRESTAPI']);
    // …while the directory still knows that user.
    expect((await graph(sb, t, 'GET', `/v1.0/users/${DEFAULT_USER_ROLES.noMailbox}`)).status).toBe(200);
  });

  it('addresses a mailbox by id or UPN only: the mail-only user is reached by its id, not its email', async () => {
    const byMail = await graph(sb, t, 'GET', `/v1.0/users/${DEFAULT_USER_ROLES.mailOnly}/mailFolders/inbox`);
    expect([byMail.status, byMail.json().error.code]).toEqual([404, 'ErrorInvalidUser']);
    const id = (await filter(`mail eq '${DEFAULT_USER_ROLES.mailOnly}'`)).json().value[0].id;
    expect((await graph(sb, t, 'GET', `/v1.0/users/${id}/mailFolders/inbox`)).status).toBe(200);
  });
});
