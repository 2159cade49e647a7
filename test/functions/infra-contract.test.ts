/**
 * The Bicep cannot be compiled here (no Bicep CLI offline), so its contract with the code is checked on
 * the syntax tree (test/infra/bicep-model.ts), driven by what the code itself declares: the settings its
 * zod schemas read, the captured binding metadata of every module in functions/, the storage connections
 * of bindings, lib/ and infra/eventgrid-subscriptions.json. A new setting, queue trigger or connection is
 * covered without editing this file; the test fails only when the template lacks something the code needs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CapturedFunction } from '../../dev/host/functions-core-capture.js';
import { loadSubscriptions } from '../../infra/hooks/eventgrid-subscriptions.js';
import { AppSettingsSchema } from '../../lib/config.js';
import {
  allBindings,
  type Binding,
  codeConnections,
  codeSettings,
  loadAllFunctions,
  ROOT,
  servicesForBinding,
  settingRefs,
} from '../infra/app-contract.js';
import {
  at,
  type BicepFile,
  type BicepValue,
  isExpr,
  parseBicep,
  type ResourceDecl,
} from '../infra/bicep-model.js';

const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');
const optional = JSON.parse(read('infra/app-settings.optional.json')) as { settings: Record<string, string> };
const example = JSON.parse(read('local.settings.json.example')) as { Values: Record<string, string> };

const ROLE = {
  blobOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  blobContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  queueContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  tableContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  kvSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
};
/** What lib/ does with each connection beyond the bindings (SDK clients). */
const CODE_SERVICES: Record<string, ('blob' | 'queue' | 'table')[]> = {
  AzureWebJobsStorage: ['blob', 'queue', 'table'],
  ArchiveStorage: ['blob'],
};

let main: BicepFile;
let functions: Map<string, CapturedFunction>;
let bindings: Binding[];
/** App setting name → its value in the template (literal or expression text). */
let appSettings: Map<string, BicepValue>;

/** Every { name, value } pair in the variables the site's appSettings are built from. */
function collectSettings(model: BicepFile): Map<string, BicepValue> {
  const out = new Map<string, BicepValue>();
  const visit = (v: BicepValue | undefined) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object' && !isExpr(v)) {
      const o = v as Record<string, BicepValue>;
      if (typeof o.name === 'string' && 'value' in o && Object.keys(o).length === 2)
        out.set(o.name, o.value!);
      else Object.values(o).forEach(visit);
    }
  };
  const siteSettings = at(resource('site').body, 'properties.siteConfig.appSettings');
  const referenced = new Set<string>();
  const follow = (expr: string) => {
    for (const [name, value] of model.vars)
      if (!referenced.has(name) && new RegExp(`\\b${name}\\b`).test(expr)) {
        referenced.add(name);
        if (isExpr(value)) follow(value.expr);
        else visit(value);
      }
  };
  if (isExpr(siteSettings)) follow(siteSettings.expr);
  else visit(siteSettings);
  return out;
}

function resource(symbol: string, model = main): ResourceDecl {
  const r = model.resources.find((x) => x.symbol === symbol);
  if (!r) throw new Error(`main.bicep has no resource ${symbol}`);
  return r;
}

const exprText = (v: BicepValue | undefined) => (isExpr(v) ? v.expr : typeof v === 'string' ? v : '');

/** The storage account symbol an expression such as `hostStorage.properties.primaryEndpoints.blob` names. */
function accountSymbolOf(v: BicepValue | undefined): string | undefined {
  const m = /^(\w+)\.properties\.primaryEndpoints\.\w+$/.exec(exprText(v));
  return m && main.resources.some((r) => r.symbol === m[1] && r.type === 'Microsoft.Storage/storageAccounts')
    ? m[1]
    : undefined;
}

/** The storage account a resource belongs to, following `parent:`. */
function accountOfResource(symbol: string): string | undefined {
  const r = main.resources.find((x) => x.symbol === symbol);
  if (!r) return undefined;
  if (r.type === 'Microsoft.Storage/storageAccounts') return r.symbol;
  const parent = exprText(r.body.parent);
  return parent ? accountOfResource(parent) : undefined;
}

interface Assignment {
  symbol: string;
  scope: string;
  principal: string;
  role: string;
}

function roleAssignments(): Assignment[] {
  return main.resources
    .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
    .map((r) => {
      const roleExpr = exprText(at(r.body, 'properties.roleDefinitionId'));
      const builtIn = /roles\.(\w+)/.exec(roleExpr);
      const roleVars = main.vars.get('roles') as Record<string, string>;
      return {
        symbol: r.symbol,
        scope: exprText(r.body.scope),
        principal: exprText(at(r.body, 'properties.principalId')),
        role: builtIn ? roleVars[builtIn[1]!]! : roleExpr.replace(/\.id$/, ''),
      };
    });
}

const APP_PRINCIPAL = 'identity.properties.principalId';

beforeAll(async () => {
  main = await parseBicep(path.join(ROOT, 'infra/main.bicep'));
  functions = await loadAllFunctions();
  bindings = allBindings(functions);
  appSettings = collectSettings(main);
});

describe('infra/main.bicep sets what the code reads', () => {
  it('found the functions and the app settings', () => {
    expect(functions.size).toBeGreaterThan(3);
    expect(appSettings.size).toBeGreaterThan(20);
  });

  it('every setting the code validates is set by the template or documented as optional', async () => {
    const settings = await codeSettings();
    expect(settings.size).toBeGreaterThan(20);
    const missing = [...settings]
      .filter(([name]) => !appSettings.has(name) && !(name in optional.settings))
      .map(([name, mod]) => `${name} (${mod})`);
    expect(missing, 'set these in main.bicep or list them in infra/app-settings.optional.json').toEqual([]);
    const both = Object.keys(optional.settings).filter((n) => appSettings.has(n));
    expect(both, 'listed as optional but set by the template').toEqual([]);
  });

  it('every %SETTING% in a binding is an app setting', () => {
    const used = new Set(bindings.flatMap(settingRefs));
    expect(used.size).toBeGreaterThan(0);
    for (const s of used) expect(appSettings.has(s), s).toBe(true);
  });

  it('every setting the app validates at start is in local.settings.json.example', () => {
    for (const key of Object.keys(AppSettingsSchema.shape))
      expect(Object.keys(example.Values), key).toContain(key);
  });

  it('LivePerson and Graph secrets come from Key Vault references, never literal values', () => {
    for (const secret of [
      'LP_APP_KEY',
      'LP_APP_SECRET',
      'LP_ACCESS_TOKEN',
      'LP_ACCESS_TOKEN_SECRET',
      'LP_CLIENT_ID',
      'LP_CLIENT_SECRET',
      'GRAPH_CLIENT_SECRET',
      'GRAPH_CLIENT_CERTIFICATE',
    ])
      expect(exprText(appSettings.get(secret)), secret).toMatch(/^'?@Microsoft\.KeyVault\(SecretUri=/);
    expect(exprText(at(resource('site').body, 'properties.keyVaultReferenceIdentity'))).toBe('identity.id');
    // The app's identity reads the vault's secrets, nothing more.
    const kv = roleAssignments().filter((a) => a.scope === 'vault');
    expect(kv.map((a) => [a.principal, a.role])).toEqual([[APP_PRINCIPAL, ROLE.kvSecretsUser]]);
  });

  it('Microsoft 365 delivery is off unless a tenant is given, with exactly one Graph credential', () => {
    const graphVar = exprText(main.vars.get('graphAppSettings'));
    expect(graphVar).toMatch(/^deliveryEnabled \?/);
    expect(exprText(main.vars.get('deliveryEnabled'))).toBe('!empty(graphTenantId)');
    const creds = main.vars.get('graphCredentialSettings') as Record<string, { name: string }[]>;
    const credentialNames = new Set(['GRAPH_CLIENT_SECRET', 'GRAPH_CLIENT_CERTIFICATE', 'GRAPH_CREDENTIAL']);
    for (const [kind, list] of Object.entries(creds))
      expect(list.filter((s) => credentialNames.has(s.name)).length, kind).toBe(1);
    const allowed = main.params.get('graphCredential')!.decorators.join(' ');
    for (const kind of Object.keys(creds)) expect(allowed).toContain(`'${kind}'`);
  });
});

describe('storage connections: settings and the narrowest data roles', () => {
  function connections(): Map<string, Set<'blob' | 'queue' | 'table'>> {
    const needs = new Map<string, Set<'blob' | 'queue' | 'table'>>();
    const add = (conn: string, services: ('blob' | 'queue' | 'table')[]) => {
      const set = needs.get(conn) ?? new Set();
      for (const s of services) set.add(s);
      needs.set(conn, set);
    };
    add('AzureWebJobsStorage', CODE_SERVICES.AzureWebJobsStorage!);
    for (const b of bindings) {
      const conn = typeof b.connection === 'string' && b.connection ? b.connection : undefined;
      const services = servicesForBinding(b.type);
      if (services.length) add(conn ?? 'AzureWebJobsStorage', services);
    }
    for (const conn of codeConnections()) add(conn, CODE_SERVICES[conn] ?? ['blob', 'queue', 'table']);
    for (const sub of loadSubscriptions())
      add(sub.storageConnection, CODE_SERVICES[sub.storageConnection] ?? ['blob']);
    return needs;
  }

  it('every connection is identity-based with the service URIs it is used through', () => {
    const needs = connections();
    expect([...needs.keys()]).toEqual(expect.arrayContaining(['AzureWebJobsStorage', 'ArchiveStorage']));
    for (const [conn, services] of needs) {
      expect(exprText(appSettings.get(`${conn}__credential`)), conn).toBe('managedidentity');
      expect(exprText(appSettings.get(`${conn}__clientId`)), conn).toBe('identity.properties.clientId');
      expect(appSettings.has(conn), `${conn} must not be a connection string (shared keys are off)`).toBe(
        false,
      );
      for (const svc of services)
        expect(
          accountSymbolOf(appSettings.get(`${conn}__${svc}ServiceUri`)),
          `${conn}__${svc}ServiceUri`,
        ).toBeDefined();
    }
  });

  it("each connection's account grants the app's identity the data role of each service it uses", () => {
    const assignments = roleAssignments().filter((a) => a.principal === APP_PRINCIPAL);
    const rolesOn = (account: string) =>
      assignments.filter((a) => a.scope === account || accountOfResource(a.scope) === account);
    for (const [conn, services] of connections()) {
      const account = accountSymbolOf(appSettings.get(`${conn}__blobServiceUri`))!;
      const granted = rolesOn(account).map((a) => a.role);
      if (services.has('queue')) expect(granted, `${conn}: queue`).toContain(ROLE.queueContributor);
      if (services.has('table')) expect(granted, `${conn}: table`).toContain(ROLE.tableContributor);
      if (services.has('blob'))
        expect(
          granted.some(
            (r) => r === ROLE.blobOwner || r === ROLE.blobContributor || r === 'archiveWriterRole',
          ),
          `${conn}: blob`,
        ).toBe(true);
    }
  });

  it('the archive account: the app may create and read blobs, never delete, overwrite or unlock them', () => {
    const archive = accountSymbolOf(appSettings.get('ArchiveStorage__blobServiceUri'))!;
    const host = accountSymbolOf(appSettings.get('AzureWebJobsStorage__blobServiceUri'))!;
    expect(archive, 'the archive has its own account').not.toBe(host);
    const onArchive = roleAssignments().filter(
      (a) => a.scope === archive || accountOfResource(a.scope) === archive,
    );
    expect(onArchive.map((a) => [a.principal, a.role, a.scope])).toEqual([
      [APP_PRINCIPAL, 'archiveWriterRole', 'archiveContainer'],
    ]);
    const role = resource('archiveWriterRole');
    const perms = at(role.body, 'properties.permissions') as Record<string, BicepValue>[];
    expect(perms).toHaveLength(1);
    const dataActionsRef = perms[0]!.dataActions;
    const dataActions = (
      isExpr(dataActionsRef) ? main.vars.get(dataActionsRef.expr) : dataActionsRef
    ) as string[];
    expect(dataActions.sort()).toEqual([
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action',
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
    ]);
    for (const a of dataActions)
      expect(a).not.toMatch(
        /\*|delete|Delete|immutableStorage|blobs\/write|containers\/write|Ownership|Permissions/,
      );
    expect(perms[0]!.actions).toEqual([]);
    expect(at(role.body, 'properties.type')).toBe('CustomRole');
  });

  it('no identity holds a broad built-in role anywhere (Owner, Contributor, account keys)', () => {
    const broad = [
      '8e3af657-a8ff-443c-a75c-2fe8c4bcb635', // Owner
      'b24988ac-6180-42a0-ab88-20f7382dd24c', // Contributor
      '17d1049b-9a84-46fb-8f53-869881c3d3ab', // Storage Account Contributor (listKeys)
    ];
    for (const a of roleAssignments()) expect(broad, a.symbol).not.toContain(a.role);
  });

  it('every storage account refuses shared keys and anonymous access', () => {
    const accounts = main.resources.filter((r) => r.type === 'Microsoft.Storage/storageAccounts');
    expect(accounts.length).toBe(2);
    for (const a of accounts) {
      expect(at(a.body, 'properties.allowSharedKeyAccess'), a.symbol).toBe(false);
      expect(at(a.body, 'properties.allowBlobPublicAccess'), a.symbol).toBe(false);
      expect(at(a.body, 'properties.minimumTlsVersion'), a.symbol).toBe('TLS1_2');
      expect(exprText(at(a.body, 'properties.networkAcls')), a.symbol).toBe('storageNetworkAcls');
    }
    const acls = exprText(main.vars.get('storageNetworkAcls'));
    expect(acls).toMatch(/privateNetworking\s*\?/);
    expect(acls).toMatch(/defaultAction: 'Deny'/);
    expect(main.params.get('privateNetworking')?.default).toBe(false);
  });

  it('queues have their poison queues, and tables and queues named by settings exist', () => {
    const queueLoop = resource('queues').loop ?? '';
    for (const setting of ['ARCHIVE_QUEUE', 'DELIVERY_QUEUE']) {
      const varName = exprText(appSettings.get(setting));
      expect(queueLoop, setting).toContain(varName);
      expect(queueLoop, `${setting}-poison`).toContain(`\${${varName}}-poison`);
    }
    const tableNames = main.vars.get('tableNames') as Record<string, string>;
    for (const setting of ['STATUS_TABLE', 'WATERMARK_TABLE', 'FAILURE_TABLE', 'MAILBOX_TABLE']) {
      const m = /^tableNames\.(\w+)$/.exec(exprText(appSettings.get(setting)));
      expect(m && tableNames[m[1]!], setting).toBeTruthy();
    }
    // Queue-triggered functions listen on queues the template creates.
    for (const b of bindings.filter((x) => x.type === 'queueTrigger')) {
      const refs = settingRefs(b);
      expect(refs.length, b.functionName).toBe(1);
      expect(queueLoop, b.functionName).toContain(exprText(appSettings.get(refs[0]!)));
    }
  });
});

describe('write-once archive', () => {
  it('the archive container has version-level immutability with a default retention policy, on by default', () => {
    const container = resource('archiveContainer');
    expect(at(container.body, 'properties.immutableStorageWithVersioning.enabled')).toBe(true);
    expect(exprText(container.body.parent)).toBe('archiveBlobService');
    expect(at(resource('archiveBlobService').body, 'properties.isVersioningEnabled')).toBe(true);
    const policy = resource('archivePolicy');
    expect(exprText(policy.body.parent)).toBe('archiveContainer');
    expect(exprText(at(policy.body, 'properties.immutabilityPeriodSinceCreationInDays'))).toBe(
      'immutabilityDays',
    );
    expect(policy.condition).toContain('immutabilityDays > 0');
    expect(policy.condition).toContain('!immutabilityPolicyLocked');
    const days = main.params.get('immutabilityDays')!.default as number;
    expect(days, 'on by default, at least FINRA 4511 six years').toBeGreaterThanOrEqual(6 * 365);
    expect(main.params.get('immutabilityPolicyLocked')?.default).toBe(false);
    expect(exprText(appSettings.get('ARCHIVE_CONTAINER'))).toBe('archiveContainerName');
    expect(exprText(container.body.name)).toBe('archiveContainerName');
  });
});

describe('Event Grid delivers each archived .eml to its function', () => {
  it('each subscription targets a registered Event Grid (or Event Grid blob) trigger', () => {
    for (const sub of loadSubscriptions()) {
      const fn = functions.get(sub.function);
      expect(fn, sub.function).toBeDefined();
      const trigger = Object.values(fn!.metadata.bindings).find(
        (b) => b.direction === 'in' && /Trigger$/.test(b.type),
      );
      expect(trigger?.type, sub.function).toMatch(/^(eventGridTrigger|blobTrigger)$/);
      if (trigger?.type === 'blobTrigger') {
        expect(trigger.source, sub.function).toBe('EventGrid');
        const blobPath = String(trigger.path);
        const container = blobPath.split('/')[0]!;
        expect(sub.subjectBeginsWith).toBe(`/blobServices/default/containers/${container}/blobs/`);
        expect(blobPath.endsWith(sub.subjectEndsWith), blobPath).toBe(true);
      }
    }
  });

  it('the filter is the archive container and the .eml suffix, with retries and dead-lettering', () => {
    for (const sub of loadSubscriptions()) {
      const m = /^\/blobServices\/default\/containers\/%(\w+)%\/blobs\/$/.exec(sub.subjectBeginsWith);
      expect(m, sub.subjectBeginsWith).not.toBeNull();
      const containerSetting = m![1]!;
      const containerVar = exprText(appSettings.get(containerSetting));
      const account = accountSymbolOf(appSettings.get(`${sub.storageConnection}__blobServiceUri`));
      const containerRes = main.resources.find(
        (r) =>
          r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers' &&
          exprText(r.body.name) === containerVar &&
          accountOfResource(r.symbol) === account,
      );
      expect(
        containerRes,
        `${containerSetting} names a container of ${sub.storageConnection}'s account`,
      ).toBeDefined();
      expect(sub.subjectEndsWith).toBe('.eml');
      expect(sub.includedEventTypes).toEqual(['Microsoft.Storage.BlobCreated']);
      expect(sub.maxDeliveryAttempts).toBeGreaterThan(1);
      // The system topic of that account exists, with the identity Event Grid dead-letters with.
      const topic = main.resources.find(
        (r) =>
          r.type === 'Microsoft.EventGrid/systemTopics' &&
          exprText(at(r.body, 'properties.source')) === `${account}.id`,
      );
      expect(topic).toBeDefined();
      expect(at(topic!.body, 'identity.type')).toBe('SystemAssigned');
      // The dead-letter container is in the host account, writable by the topic's identity.
      const host = accountSymbolOf(appSettings.get('AzureWebJobsStorage__blobServiceUri'));
      const dl = main.resources.find(
        (r) =>
          r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers' &&
          accountOfResource(r.symbol) === host &&
          (r.body.name === sub.deadLetterContainer ||
            main.vars.get(exprText(r.body.name)) === sub.deadLetterContainer),
      );
      expect(dl, sub.deadLetterContainer).toBeDefined();
      expect(
        roleAssignments().some(
          (a) =>
            a.scope === dl!.symbol &&
            a.principal === `${topic!.symbol}.identity.principalId` &&
            a.role === ROLE.blobContributor,
        ),
      ).toBe(true);
    }
  });

  it('azd runs the subscription hook after deploy', () => {
    const yaml = read('azure.yaml');
    expect(yaml).toMatch(/postdeploy:[\s\S]*infra\/hooks\/eventgrid-subscriptions\.ts/);
  });
});

describe('sign-in for the admin endpoints', () => {
  it('App Service Authentication is on by default and leaves automation and extension webhooks to keys', () => {
    const auth = resource('siteAuth');
    expect(auth.condition).toBe('(signInEnabled)');
    expect(exprText(main.vars.get('signInEnabled'))).toBe("adminSignIn == 'entra'");
    expect(main.params.get('adminSignIn')?.default).toBe('entra');
    expect(auth.body.name).toBe('authsettingsV2');
    expect(at(auth.body, 'properties.globalValidation.requireAuthentication')).toBe(true);
    const excluded = main.vars.get(
      exprText(at(auth.body, 'properties.globalValidation.excludedPaths')),
    ) as string[];
    expect(excluded.sort()).toEqual(['/api/automation/*', '/runtime/webhooks/*']);
  });

  it('anonymous HTTP functions sit behind sign-in; routes excluded from sign-in require a function key', () => {
    const http = bindings.filter((b) => b.type === 'httpTrigger');
    expect(http.length).toBeGreaterThan(0);
    const routePrefix = (
      JSON.parse(read('host.json')) as { extensions?: { http?: { routePrefix?: string } } }
    ).extensions?.http?.routePrefix;
    for (const b of http) {
      const url = `/${routePrefix ?? 'api'}/${String(b.route ?? b.functionName)}`;
      const excluded = url.startsWith('/api/automation/') || url.startsWith('/runtime/webhooks/');
      if (b.authLevel === 'anonymous') expect(excluded, `${b.functionName} ${url} is anonymous`).toBe(false);
      if (excluded) expect(b.authLevel, `${b.functionName} ${url}`).not.toBe('anonymous');
    }
  });
});

describe('alerts and the deployment', () => {
  it('two alert rules, their queries from infra/queries, e-mail through an action group', () => {
    const rules = main.vars.get('alertRules') as Record<string, BicepValue>[];
    expect(rules.map((r) => r.key)).toEqual(['failed-items', 'discovery-lag']);
    for (const r of rules) {
      const file = /^loadTextContent\('([^']+)'\)$/.exec(exprText(r.query))?.[1];
      expect(file, String(r.key)).toBeDefined();
      expect(read(`infra/${file}`)).toMatch(/lparchiver\./);
    }
    const lag = read('infra/queries/alert-discovery-lag.kql');
    expect(lag).toMatch(/reports == 0/);
    expect(lag).toMatch(/3600/);
    expect(exprText(at(resource('alerts').body, 'properties.actions.actionGroups'))).toBe('alertActions');
    expect(exprText(main.vars.get('alertActions'))).toContain('alertGroup.id');
  });

  it('Flex Consumption on Node 22; azd finds the app by its service tag', () => {
    const plan = resource('plan');
    expect(at(plan.body, 'sku.name')).toBe('FC1');
    const site = resource('site');
    expect(at(site.body, 'properties.functionAppConfig.runtime')).toEqual({ name: 'node', version: '22' });
    expect(exprText(site.body.tags)).toContain("'azd-service-name': 'api'");
    expect(read('azure.yaml')).toMatch(/services:\s*\n\s+api:\s*\n[\s\S]*host: function/);
  });

  it('main.parameters.json maps only real parameters and every required one', () => {
    const file = JSON.parse(read('infra/main.parameters.json')) as { parameters: Record<string, unknown> };
    for (const name of Object.keys(file.parameters)) expect(main.params.has(name), name).toBe(true);
    for (const [name, p] of main.params)
      if (p.default === undefined) expect(file.parameters, name).toHaveProperty(name);
  });
});
