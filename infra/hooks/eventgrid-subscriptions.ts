/**
 * Creates (or updates: it is idempotent) the Event Grid subscriptions described in
 * infra/eventgrid-subscriptions.json, after the code is published: each subscription's endpoint carries
 * the function app's `eventgrid_extension` system key, which the host creates only once it has loaded a
 * function with an Event Grid trigger. Then checks that App Service Authentication really guards the admin
 * endpoints (ADMIN_SIGN_IN=entra).
 *
 *   npx tsx infra/hooks/eventgrid-subscriptions.ts [--resource-group RG] [--app NAME] [--subscription ID]
 *       [--dry-run] [--skip-sign-in-check]
 *
 * `azd up` / `azd deploy` run it as the postdeploy hook with the azd environment in the process
 * environment (AZURE_RESOURCE_GROUP, AZURE_FUNCTION_APP_NAME, AZURE_SUBSCRIPTION_ID, ADMIN_SIGN_IN). It
 * needs the Azure CLI (`az login`), and, for each subscription:
 * - `%SETTING%` in the filters is replaced by that app setting's value (e.g. %ARCHIVE_CONTAINER%);
 * - the source is the Event Grid system topic of the storage account the `storageConnection` names
 *   (`<conn>__blobServiceUri` or `<conn>__accountName` app settings);
 * - undeliverable events go, after maxDeliveryAttempts or the time to live, to `deadLetterContainer` in
 *   the host storage account (AzureWebJobsStorage), written with the system topic's managed identity.
 * The key never appears on a command line or in the output: the request body goes through a private
 * temporary file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const EVENTGRID_API_VERSION = '2022-06-15';

const Subscription = z.object({
  name: z.string().regex(/^[A-Za-z0-9-]{3,64}$/, 'must be 3-64 letters, digits or hyphens'),
  function: z.string().min(1),
  storageConnection: z.string().min(1),
  includedEventTypes: z.array(z.string().min(1)).min(1),
  subjectBeginsWith: z.string().min(1),
  subjectEndsWith: z.string(),
  maxDeliveryAttempts: z.number().int().min(1).max(30),
  eventTimeToLiveMinutes: z.number().int().min(1).max(1440),
  deadLetterContainer: z.string().regex(/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/),
});
export const SubscriptionsFile = z.object({ subscriptions: z.array(Subscription).min(1) });
export type EventGridSubscription = z.infer<typeof Subscription>;

export const SUBSCRIPTIONS_FILE = fileURLToPath(new URL('../eventgrid-subscriptions.json', import.meta.url));

export function loadSubscriptions(file = SUBSCRIPTIONS_FILE): EventGridSubscription[] {
  const parsed = SubscriptionsFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success)
    throw new Error(
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data.subscriptions;
}

/** Replaces each %SETTING% with the app setting's value; a missing or empty setting is an error. */
export function resolveSettingRefs(text: string, settings: Record<string, string>, where: string): string {
  return text.replace(/%([^%]+)%/g, (_, name: string) => {
    const value = settings[name];
    if (!value) throw new Error(`${where} uses %${name}%, but the app setting ${name} is not set`);
    return value;
  });
}

/** The storage account a Functions connection points at, by the host's own setting names. */
export function storageAccountOf(connection: string, settings: Record<string, string>): string {
  const exact = settings[connection];
  if (exact) {
    const m = /(?:^|;)\s*AccountName=([^;]+)/i.exec(exact);
    if (m) return m[1]!.trim();
  }
  const account = settings[`${connection}__accountName`];
  if (account) return account;
  const uri = settings[`${connection}__blobServiceUri`] ?? settings[`${connection}__serviceUri`];
  if (uri) {
    const host = new URL(uri).hostname;
    return host.split('.')[0]!;
  }
  throw new Error(
    `Storage connection ${connection} has no account: set ${connection}__blobServiceUri or ${connection}__accountName`,
  );
}

export function webhookUrl(hostName: string, functionName: string, key: string): string {
  return (
    `https://${hostName}/runtime/webhooks/eventgrid` +
    `?functionName=${encodeURIComponent(functionName)}&code=${encodeURIComponent(key)}`
  );
}

/** The ARM body of Microsoft.EventGrid/systemTopics/eventSubscriptions (api-version 2022-06-15). */
export function subscriptionBody(
  sub: EventGridSubscription,
  endpointUrl: string,
  deadLetterAccountId: string,
): Record<string, unknown> {
  return {
    properties: {
      destination: {
        endpointType: 'WebHook',
        properties: { endpointUrl, maxEventsPerBatch: 1, preferredBatchSizeInKilobytes: 64 },
      },
      filter: {
        includedEventTypes: sub.includedEventTypes,
        subjectBeginsWith: sub.subjectBeginsWith,
        subjectEndsWith: sub.subjectEndsWith,
        isSubjectCaseSensitive: false,
      },
      eventDeliverySchema: 'EventGridSchema',
      retryPolicy: {
        maxDeliveryAttempts: sub.maxDeliveryAttempts,
        eventTimeToLiveInMinutes: sub.eventTimeToLiveMinutes,
      },
      deadLetterWithResourceIdentity: {
        identity: { type: 'SystemAssigned' },
        deadLetterDestination: {
          endpointType: 'StorageBlob',
          properties: { resourceId: deadLetterAccountId, blobContainerName: sub.deadLetterContainer },
        },
      },
    },
  };
}

/** Runs `az ... -o json` and returns the parsed answer (null for an empty answer). */
export type AzRunner = (args: string[]) => unknown;

function quoteForCmd(arg: string): string {
  return /[\s"^&|<>()%!]/.test(arg) ? `"${arg.replace(/"/g, '""')}"` : arg;
}

export function azCli(subscription?: string): AzRunner {
  return (args) => {
    const full = [...args, ...(subscription ? ['--subscription', subscription] : []), '--only-show-errors'];
    const win = process.platform === 'win32';
    const res = spawnSync('az', win ? full.map(quoteForCmd) : full, {
      encoding: 'utf8',
      shell: win,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (res.error) throw new Error(`cannot run the Azure CLI (az): ${res.error.message}`);
    if (res.status !== 0) throw new Error(`az ${args.slice(0, 3).join(' ')} failed: ${res.stderr.trim()}`);
    const out = res.stdout.trim();
    return out ? JSON.parse(out) : null;
  };
}

const AppSettingList = z.array(z.object({ name: z.string(), value: z.string().nullable() }));
const KeysAnswer = z.object({ systemKeys: z.record(z.string(), z.string()).nullish() });
const Resource = z.object({ id: z.string() });
const SystemTopic = z.object({ id: z.string(), name: z.string(), source: z.string().nullish() });
const SiteAnswer = z.object({ defaultHostName: z.string() });
const ProvisioningAnswer = z.object({ properties: z.object({ provisioningState: z.string() }) });

export interface Plan {
  subscription: EventGridSubscription;
  topicId: string;
  deadLetterAccountId: string;
}

export interface Options {
  az: AzRunner;
  resourceGroup: string;
  app: string;
  subscriptions: EventGridSubscription[];
  log: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
  /** How long to wait for the eventgrid_extension key to appear after publishing. */
  keyWaitMs?: number;
  dryRun?: boolean;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Works out the source topic, the resolved filters and the dead-letter account of every subscription. */
export function plan(opts: Options, settings: Record<string, string>): Plan[] {
  const accountId = new Map<string, string>();
  const idOf = (account: string) => {
    let id = accountId.get(account);
    if (!id) {
      id = Resource.parse(opts.az(['storage', 'account', 'show', '--name', account, '-o', 'json'])).id;
      accountId.set(account, id);
    }
    return id;
  };
  const topics = z
    .array(SystemTopic)
    .parse(
      opts.az(['eventgrid', 'system-topic', 'list', '--resource-group', opts.resourceGroup, '-o', 'json']),
    );
  const deadLetterAccountId = idOf(storageAccountOf('AzureWebJobsStorage', settings));
  return opts.subscriptions.map((raw) => {
    const where = `Event Grid subscription ${raw.name}`;
    const sub = {
      ...raw,
      subjectBeginsWith: resolveSettingRefs(raw.subjectBeginsWith, settings, where),
      subjectEndsWith: resolveSettingRefs(raw.subjectEndsWith, settings, where),
    };
    const source = idOf(storageAccountOf(sub.storageConnection, settings)).toLowerCase();
    const topic = topics.find((t) => t.source?.toLowerCase() === source);
    if (!topic)
      throw new Error(
        `${where}: no Event Grid system topic in ${opts.resourceGroup} has the storage account of ` +
          `${sub.storageConnection} as its source (provision infra/main.bicep first)`,
      );
    return { subscription: sub, topicId: topic.id, deadLetterAccountId };
  });
}

export async function createSubscriptions(opts: Options): Promise<Plan[]> {
  const sleep = opts.sleep ?? realSleep;
  const list = AppSettingList.parse(
    opts.az([
      'functionapp',
      'config',
      'appsettings',
      'list',
      '-g',
      opts.resourceGroup,
      '-n',
      opts.app,
      '-o',
      'json',
    ]),
  );
  const settings = Object.fromEntries(list.map((s) => [s.name, s.value ?? '']));
  const plans = plan(opts, settings);
  for (const p of plans)
    opts.log(
      `${p.subscription.name}: ${p.subscription.includedEventTypes.join(',')} on ${p.topicId.split('/').pop()} ` +
        `subject ${p.subscription.subjectBeginsWith}…${p.subscription.subjectEndsWith} → ${p.subscription.function}`,
    );
  if (opts.dryRun) return plans;

  const host = SiteAnswer.parse(
    opts.az(['functionapp', 'show', '-g', opts.resourceGroup, '-n', opts.app, '-o', 'json']),
  ).defaultHostName;
  const key = await waitForKey(opts, sleep);
  const dir = mkdtempSync(path.join(tmpdir(), 'lparchiver-eg-'));
  try {
    for (const p of plans) {
      const url = `${p.topicId}/eventSubscriptions/${p.subscription.name}?api-version=${EVENTGRID_API_VERSION}`;
      const bodyFile = path.join(dir, `${p.subscription.name}.json`);
      const body = subscriptionBody(
        p.subscription,
        webhookUrl(host, p.subscription.function, key),
        p.deadLetterAccountId,
      );
      writeFileSync(bodyFile, JSON.stringify(body), { mode: 0o600 });
      // PUT is create-or-update: re-running the hook converges on the file's description.
      opts.az(['rest', '--method', 'put', '--url', url, '--body', `@${bodyFile}`, '-o', 'json']);
      const state = await waitForProvisioning(opts, url, sleep);
      if (state !== 'Succeeded')
        throw new Error(
          `${p.subscription.name}: provisioning ${state}. Event Grid validates the endpoint when the ` +
            `subscription is created: is ${p.subscription.function} published with an Event Grid trigger?`,
        );
      opts.log(`${p.subscription.name}: ${state}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return plans;
}

async function waitForKey(opts: Options, sleep: (ms: number) => Promise<void>): Promise<string> {
  const deadline = Date.now() + (opts.keyWaitMs ?? 10 * 60_000);
  for (let attempt = 1; ; attempt++) {
    const keys = KeysAnswer.parse(
      opts.az(['functionapp', 'keys', 'list', '-g', opts.resourceGroup, '-n', opts.app, '-o', 'json']),
    );
    const key = keys.systemKeys?.eventgrid_extension;
    if (key) return key;
    if (Date.now() >= deadline)
      throw new Error(
        'the function app has no eventgrid_extension system key: the host creates it when it loads a function ' +
          'with an Event Grid trigger. Is the code published (azd deploy) and does the app start?',
      );
    if (attempt === 1) opts.log('waiting for the host to create the eventgrid_extension key…');
    await sleep(15_000);
  }
}

async function waitForProvisioning(
  opts: Options,
  url: string,
  sleep: (ms: number) => Promise<void>,
): Promise<string> {
  for (let i = 0; i < 60; i++) {
    const state = ProvisioningAnswer.parse(opts.az(['rest', '--method', 'get', '--url', url, '-o', 'json']))
      .properties.provisioningState;
    if (state !== 'Creating' && state !== 'Updating' && state !== 'AwaitingManualAction') return state;
    await sleep(5_000);
  }
  return 'still creating after 5 minutes';
}

/**
 * With ADMIN_SIGN_IN=entra, App Service Authentication must stop unauthenticated callers before the app:
 * an anonymous request, and one carrying a forged x-ms-client-principal header, must both be refused
 * (401, or a redirect to the sign-in page). The automation routes must still ask for a function key.
 */
export async function checkSignIn(
  baseUrl: string,
  fetchFn: typeof fetch = fetch,
): Promise<{ ok: boolean; findings: string[] }> {
  const forged = Buffer.from(
    JSON.stringify({
      auth_typ: 'aad',
      claims: [{ typ: 'groups', val: '00000000-0000-0000-0000-000000000000' }],
    }),
  ).toString('base64');
  const findings: string[] = [];
  let ok = true;
  const probe = async (route: string, headers: Record<string, string>, what: string, allowed: number[]) => {
    const res = await fetchFn(new URL(route, baseUrl), { headers, redirect: 'manual' });
    await res.body?.cancel();
    const good = allowed.includes(res.status);
    ok &&= good;
    findings.push(`${good ? 'ok' : 'NOT PROTECTED'}: ${what} → ${res.status}`);
  };
  await probe('/api/status', {}, 'GET /api/status without sign-in', [401, 302]);
  await probe(
    '/api/status',
    { 'x-ms-client-principal': forged, 'x-ms-client-principal-idp': 'aad' },
    'GET /api/status with a forged x-ms-client-principal',
    [401, 302],
  );
  await probe('/api/automation/status', {}, 'GET /api/automation/status without a function key', [401]);
  return { ok, findings };
}

async function main(argv: string[]): Promise<void> {
  const arg = (flag: string, env: string) => {
    const i = argv.indexOf(flag);
    return (i >= 0 ? argv[i + 1] : undefined) ?? process.env[env] ?? undefined;
  };
  const resourceGroup = arg('--resource-group', 'AZURE_RESOURCE_GROUP');
  const app = arg('--app', 'AZURE_FUNCTION_APP_NAME');
  if (!resourceGroup || !app)
    throw new Error(
      'set --resource-group and --app (azd sets AZURE_RESOURCE_GROUP and AZURE_FUNCTION_APP_NAME)',
    );
  const az = azCli(arg('--subscription', 'AZURE_SUBSCRIPTION_ID'));
  const log = (line: string) => process.stdout.write(`${line}\n`);
  await createSubscriptions({
    az,
    resourceGroup,
    app,
    subscriptions: loadSubscriptions(),
    log,
    dryRun: argv.includes('--dry-run'),
  });
  const signIn = arg('--admin-sign-in', 'ADMIN_SIGN_IN') ?? 'entra';
  if (signIn === 'entra' && !argv.includes('--skip-sign-in-check') && !argv.includes('--dry-run')) {
    const host = SiteAnswer.parse(az(['functionapp', 'show', '-g', resourceGroup, '-n', app, '-o', 'json']));
    const { ok, findings } = await checkSignIn(`https://${host.defaultHostName}`);
    for (const f of findings) log(f);
    if (!ok)
      throw new Error(
        'App Service Authentication does not guard the admin endpoints (see above): do not use them until it ' +
          'does (infra/README.md, "Sign-in for the admin endpoints")',
      );
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`eventgrid-subscriptions: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
