/**
 * The deploy hooks, run for real where they can be here: the package staging end to end (compile, stage,
 * load every function from the staged folder alone), the Event Grid hook's plan and requests against a
 * scripted Azure CLI (no Azure here: the `az` answers are fixtures, the requests the hook makes are
 * checked), and the sign-in probe against real HTTP servers on loopback.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AzRunner,
  checkSignIn,
  createSubscriptions,
  loadSubscriptions,
  resolveSettingRefs,
  storageAccountOf,
  webhookUrl,
} from '../../infra/hooks/eventgrid-subscriptions.js';
import { checkImports, stagePackage } from '../../infra/hooks/stage-package.js';
import { ROOT } from './app-contract.js';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('stage-package: the deployment package', () => {
  let work: string;
  let staged: { files: string[]; outDir: string };

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'lparchiver-stage-'));
    const distDir = path.join(work, 'dist');
    const tsc = spawnSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', distDir],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    staged = stagePackage(ROOT, path.join(work, 'package'), { build: false, distDir });
  }, 240_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('holds the compiled app and production dependencies, and nothing of the development tooling', () => {
    const files = staged.files;
    expect(files).toEqual(expect.arrayContaining(['host.json', 'package.json', 'package-lock.json']));
    for (const f of readdirSync(path.join(ROOT, 'functions')).filter((x) => x.endsWith('.ts')))
      expect(files, f).toContain(`dist/functions/${f.replace(/\.ts$/, '.js')}`);
    const forbidden = [
      /^(dev|test|bench|infra|functions|lib)\//,
      /^dist\/(dev|test|bench)\//,
      /^dist\/lib\/cli\//,
      /^(local\.settings\.json|\.azurite|archive-local|test-output|\.env)/,
      /\.(ts|map)$/,
    ];
    for (const f of files) for (const re of forbidden) expect(f, String(re)).not.toMatch(re);
    // A development dependency may still ship when a production dependency needs it (the lockfile then
    // does not mark it dev); what must never ship is a package only development needs.
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
    const prodOnly = Object.keys(pkg.devDependencies).filter(
      (d) => lock.packages[`node_modules/${d}`]?.dev === true,
    );
    expect(prodOnly.length).toBeGreaterThan(5);
    const topLevel = new Set(
      files
        .filter((f) => f.startsWith('node_modules/'))
        .map((f) =>
          f
            .split('/')
            .slice(1, f.split('/')[1]!.startsWith('@') ? 3 : 2)
            .join('/'),
        ),
    );
    for (const dev of prodOnly) expect(topLevel.has(dev), `devDependency ${dev} shipped`).toBe(false);
    for (const dep of Object.keys(pkg.dependencies)) expect(topLevel.has(dep), dep).toBe(true);
    const shipped = JSON.parse(readFileSync(path.join(staged.outDir, 'package.json'), 'utf8'));
    expect(shipped.devDependencies).toBeUndefined();
    expect(shipped.scripts).toBeUndefined();
    expect(shipped.main).toBe('dist/functions/*.js');
  });

  it('every function module loads from the staged folder alone', () => {
    // The staged folder is outside the repository, so Node cannot fall back to the repository's node_modules.
    const modules = readdirSync(path.join(staged.outDir, 'dist/functions')).filter((f) => f.endsWith('.js'));
    const script = `for (const f of ${JSON.stringify(modules)}) await import('./dist/functions/' + f);`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: staged.outDir,
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
  });

  it('refuses code that reaches outside the package or into a devDependency', () => {
    const bad = path.join(staged.outDir, 'dist/lib/bad.js');
    writeFileSync(
      bad,
      "import '../../dev/sandbox/cli.js';\nimport x from 'vitest';\nexport const s = \"import('tsx')\";\n",
    );
    try {
      const problems = checkImports(staged.outDir, pkg.dependencies);
      expect(problems).toEqual([
        'dist/lib/bad.js imports ../../dev/sandbox/cli.js, which is not in the package',
        'dist/lib/bad.js imports vitest, which is not a production dependency',
      ]);
    } finally {
      rmSync(bad);
    }
    expect(checkImports(staged.outDir, pkg.dependencies)).toEqual([]);
  });
});

describe('.funcignore (Core Tools publishing from the project root)', () => {
  it('keeps sources, tests, local tooling, infra, local settings and local data out', () => {
    const lines = new Set(
      readFileSync(path.join(ROOT, '.funcignore'), 'utf8')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    );
    for (const entry of [
      '/functions/',
      '/lib/',
      '/test/',
      '/dev/',
      '/bench/',
      '/infra/',
      '/dist/dev/',
      '/dist/test/',
      '/dist/bench/',
      '/dist/lib/cli/',
      '*.ts',
      '*.map',
      '/local.settings.json',
      '/.azurite/',
      '/archive-local/',
      '/test-output/',
      '/.deploy/',
    ])
      expect(lines.has(entry), entry).toBe(true);
    // Anchored: an unanchored `dev/` would also drop a production dependency's own dev/ folder.
    for (const l of lines)
      if (/^[a-z]/.test(l) && l.endsWith('/')) expect.fail(`unanchored directory pattern ${l}`);
  });
});

describe('eventgrid-subscriptions: the postdeploy hook', () => {
  const sub = '/subscriptions/0000/resourceGroups/rg/providers';
  const hostId = `${sub}/Microsoft.Storage/storageAccounts/sthost`;
  const archiveId = `${sub}/Microsoft.Storage/storageAccounts/starchive`;
  const topicId = `${sub}/Microsoft.EventGrid/systemTopics/evgt-archive`;
  const settings = [
    { name: 'AzureWebJobsStorage__blobServiceUri', value: 'https://sthost.blob.core.windows.net/' },
    { name: 'ArchiveStorage__blobServiceUri', value: 'https://starchive.blob.core.windows.net/' },
    { name: 'ARCHIVE_CONTAINER', value: 'archive' },
    { name: 'LP_CLIENT_SECRET', value: '@Microsoft.KeyVault(SecretUri=https://kv/secrets/x/)' },
  ];

  /** A scripted `az`: fixed answers per command, every call recorded (with the body file read at call time). */
  function scriptedAz(opts: { keyAfterPolls?: number; provisioning?: string[] } = {}) {
    const calls: { args: string[]; body?: unknown }[] = [];
    let keyPolls = 0;
    const states = [...(opts.provisioning ?? ['Creating', 'Succeeded'])];
    const az: AzRunner = (args) => {
      const call: { args: string[]; body?: unknown } = { args };
      calls.push(call);
      const cmd = args.slice(0, 4).join(' ');
      if (cmd.startsWith('functionapp config appsettings list')) return settings;
      if (cmd.startsWith('storage account show'))
        return { id: args[args.indexOf('--name') + 1] === 'sthost' ? hostId : archiveId };
      if (cmd.startsWith('eventgrid system-topic list'))
        return [
          { id: `${sub}/Microsoft.EventGrid/systemTopics/other`, name: 'other', source: hostId },
          { id: topicId, name: 'evgt-archive', source: archiveId.toUpperCase() },
        ];
      if (cmd.startsWith('functionapp show')) return { defaultHostName: 'func-x.azurewebsites.net' };
      if (cmd.startsWith('functionapp keys list'))
        return ++keyPolls > (opts.keyAfterPolls ?? 0)
          ? { systemKeys: { eventgrid_extension: 'k3y/+=' } }
          : { systemKeys: {} };
      if (cmd.startsWith('rest --method put')) {
        const body = args[args.indexOf('--body') + 1]!;
        call.body = JSON.parse(readFileSync(body.slice(1), 'utf8'));
        return call.body;
      }
      if (cmd.startsWith('rest --method get'))
        return { properties: { provisioningState: states.shift() ?? 'Succeeded' } };
      throw new Error(`unexpected az ${args.join(' ')}`);
    };
    return { az, calls };
  }

  const base = { resourceGroup: 'rg', app: 'func-x', log: () => {}, sleep: async () => {} };

  it('creates each subscription on the archive account topic, filtered, with retries and dead-lettering', async () => {
    const { az, calls } = scriptedAz({ keyAfterPolls: 2 });
    const plans = await createSubscriptions({ ...base, az, subscriptions: loadSubscriptions() });
    expect(plans).toHaveLength(1);
    const puts = calls.filter((c) => c.args[1] === '--method' && c.args[2] === 'put');
    expect(puts).toHaveLength(1);
    expect(puts[0]!.args[4]).toBe(`${topicId}/eventSubscriptions/archive-eml-created?api-version=2022-06-15`);
    expect(puts[0]!.body).toEqual({
      properties: {
        destination: {
          endpointType: 'WebHook',
          properties: {
            endpointUrl:
              'https://func-x.azurewebsites.net/runtime/webhooks/eventgrid?functionName=recordStatus&code=k3y%2F%2B%3D',
            maxEventsPerBatch: 1,
            preferredBatchSizeInKilobytes: 64,
          },
        },
        filter: {
          includedEventTypes: ['Microsoft.Storage.BlobCreated'],
          subjectBeginsWith: '/blobServices/default/containers/archive/blobs/',
          subjectEndsWith: '.eml',
          isSubjectCaseSensitive: false,
        },
        eventDeliverySchema: 'EventGridSchema',
        retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 },
        deadLetterWithResourceIdentity: {
          identity: { type: 'SystemAssigned' },
          deadLetterDestination: {
            endpointType: 'StorageBlob',
            properties: { resourceId: hostId, blobContainerName: 'eventgrid-deadletter' },
          },
        },
      },
    });
    // It waited for the key (two empty answers), then for provisioning; the key never left the body file.
    expect(calls.filter((c) => c.args[1] === 'keys')).toHaveLength(3);
    expect(calls.filter((c) => c.args[2] === 'get')).toHaveLength(2);
    for (const c of calls) expect(c.args.join(' ')).not.toContain('k3y');
  });

  it('a dry run plans without reading the key or changing anything', async () => {
    const { az, calls } = scriptedAz();
    const lines: string[] = [];
    await createSubscriptions({
      ...base,
      az,
      subscriptions: loadSubscriptions(),
      dryRun: true,
      log: (l) => lines.push(l),
    });
    expect(calls.map((c) => c.args.slice(0, 2).join(' '))).not.toContain('functionapp keys');
    expect(calls.some((c) => c.args[0] === 'rest')).toBe(false);
    expect(lines.join('\n')).toContain('archive-eml-created: Microsoft.Storage.BlobCreated on evgt-archive');
  });

  it('stops with a clear error when the key never comes or Event Grid refuses the endpoint', async () => {
    const never = scriptedAz({ keyAfterPolls: Number.POSITIVE_INFINITY });
    await expect(
      createSubscriptions({ ...base, az: never.az, subscriptions: loadSubscriptions(), keyWaitMs: 0 }),
    ).rejects.toThrow(/no eventgrid_extension system key/);
    const refused = scriptedAz({ provisioning: ['Creating', 'Failed'] });
    await expect(
      createSubscriptions({ ...base, az: refused.az, subscriptions: loadSubscriptions() }),
    ).rejects.toThrow(/archive-eml-created: provisioning Failed/);
  });

  it('resolves %SETTING% and storage accounts by the host rules, naming what is missing', () => {
    expect(resolveSettingRefs('/c/%A%/b/%B%', { A: 'x', B: 'y' }, 'here')).toBe('/c/x/b/y');
    expect(() => resolveSettingRefs('%NOPE%', {}, 'sub s')).toThrow(
      'sub s uses %NOPE%, but the app setting NOPE is not set',
    );
    expect(storageAccountOf('C', { C__accountName: 'acc' })).toBe('acc');
    expect(
      storageAccountOf('C', { C: 'DefaultEndpointsProtocol=https;AccountName=cs1;EndpointSuffix=x' }),
    ).toBe('cs1');
    expect(() => storageAccountOf('C', {})).toThrow(/C__blobServiceUri/);
    expect(webhookUrl('h.example', 'fn x', 'a&b')).toBe(
      'https://h.example/runtime/webhooks/eventgrid?functionName=fn%20x&code=a%26b',
    );
  });
});

describe('the sign-in probe', () => {
  const servers: Server[] = [];
  async function serve(handler: (url: string, headers: Record<string, unknown>) => number): Promise<string> {
    const server = createServer((req, res) => {
      res.statusCode = handler(req.url ?? '', req.headers);
      res.end();
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it('passes when sign-in guards the admin routes and keys guard automation', async () => {
    const url = await serve((u, h) =>
      u.startsWith('/api/automation/') ? 401 : h['x-ms-client-principal'] ? 401 : 302,
    );
    const result = await checkSignIn(url);
    expect(result.ok).toBe(true);
    expect(result.findings).toHaveLength(3);
  });

  it('fails when a forged principal header reaches the app (authentication not enforced)', async () => {
    const url = await serve((u, h) =>
      u.startsWith('/api/automation/') ? 401 : h['x-ms-client-principal'] ? 200 : 401,
    );
    const result = await checkSignIn(url);
    expect(result.ok).toBe(false);
    expect(result.findings.join('\n')).toContain(
      'NOT PROTECTED: GET /api/status with a forged x-ms-client-principal → 200',
    );
  });

  it('fails when the automation routes answer without a key', async () => {
    const url = await serve((u) => (u.startsWith('/api/automation/') ? 200 : 401));
    expect((await checkSignIn(url)).ok).toBe(false);
  });
});
