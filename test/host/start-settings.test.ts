import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startArchiveMirror } from '../../dev/host/archive-mirror.js';
import { startBlobEventProxy } from '../../dev/host/blob-events-proxy.js';
import {
  loadHostJson,
  loadLocalSettings,
  needsSandbox,
  resolveStartSettings,
  sandboxSize,
} from '../../dev/host/local-settings.js';
import { backfillRange, startBanner } from '../../dev/host/start-banner.js';
import { memoryLogger, uid } from './helpers.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'lp-start-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const AZURITE =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;BlobEndpoint=http://127.0.0.1:1/x;';

describe('npm start settings', () => {
  it('prefers local.settings.json, falls back to the .example, and tolerates neither', () => {
    const dir = tempDir();
    expect(loadLocalSettings(dir)).toEqual({ source: undefined, values: {}, localHttpPort: undefined });
    writeFileSync(
      path.join(dir, 'local.settings.json.example'),
      JSON.stringify({ Values: { A: 'example', N: 5 } }),
    );
    expect(loadLocalSettings(dir)).toMatchObject({ values: { A: 'example', N: '5' } });
    writeFileSync(
      path.join(dir, 'local.settings.json'),
      JSON.stringify({ IsEncrypted: false, Values: { A: 'mine' }, Host: { LocalHttpPort: 7072 } }),
    );
    const loaded = loadLocalSettings(dir);
    expect(loaded).toEqual({
      source: path.join(dir, 'local.settings.json'),
      values: { A: 'mine' },
      localHttpPort: 7072,
    });
  });

  it('names the file and the field when it is malformed', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'local.settings.json'), '{ "Values": ');
    expect(() => loadLocalSettings(dir)).toThrow(/local\.settings\.json: not valid JSON/);
    writeFileSync(path.join(dir, 'local.settings.json'), JSON.stringify({ Values: { A: { nested: 1 } } }));
    expect(() => loadLocalSettings(dir)).toThrow(/local\.settings\.json: Values\.A:/);
    writeFileSync(path.join(dir, 'local.settings.json'), JSON.stringify({ IsEncrypted: true, Values: {} }));
    expect(() => loadLocalSettings(dir)).toThrow(/encrypted settings/);
  });

  it('lets the environment override file values and points development storage at Azurite', () => {
    const settings = resolveStartSettings({
      file: {
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        ArchiveStorage: 'UseDevelopmentStorage=true',
        LP_ACCOUNT_ID: '',
        OTHER: 'file',
      },
      env: { OTHER: 'shell', UNRELATED: 'not copied', SANDBOX_CONVERSATIONS: '7' },
      azuriteConnectionString: AZURITE,
    });
    expect(settings).toEqual({
      AzureWebJobsStorage: AZURITE,
      ArchiveStorage: AZURITE,
      LP_ACCOUNT_ID: '',
      OTHER: 'shell',
      SANDBOX_CONVERSATIONS: '7',
      FUNCTIONS_WORKER_RUNTIME: 'node',
    });
  });

  it('fills AzureWebJobsStorage when absent, keeps a real connection string, and adds the sandbox settings', () => {
    expect(
      resolveStartSettings({ file: {}, env: {}, azuriteConnectionString: AZURITE }).AzureWebJobsStorage,
    ).toBe(AZURITE);
    const real =
      'DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=k;EndpointSuffix=core.windows.net';
    const s = resolveStartSettings({
      file: { AzureWebJobsStorage: real },
      env: {},
      azuriteConnectionString: AZURITE,
      sandboxEnv: { LP_ACCOUNT_ID: '12345678', LP_CSDS_URL: 'http://127.0.0.1:9/csds' },
    });
    expect(s).toMatchObject({ AzureWebJobsStorage: real, LP_ACCOUNT_ID: '12345678' });
  });

  it('uses the sandbox only when no LivePerson credentials are configured', () => {
    const apiKey = {
      LP_APP_KEY: 'k',
      LP_APP_SECRET: 's',
      LP_ACCESS_TOKEN: 't',
      LP_ACCESS_TOKEN_SECRET: 'ts',
    };
    expect(needsSandbox({})).toBe(true);
    expect(needsSandbox({ LP_ACCOUNT_ID: '12345678' })).toBe(true);
    expect(needsSandbox({ LP_ACCOUNT_ID: '12345678', ...apiKey, LP_ACCESS_TOKEN: '' })).toBe(true);
    expect(needsSandbox({ LP_ACCOUNT_ID: '<your account id>', ...apiKey })).toBe(true);
    expect(needsSandbox({ LP_ACCOUNT_ID: '12345678', ...apiKey })).toBe(false);
    expect(needsSandbox({ LP_ACCOUNT_ID: '12345678', LP_CLIENT_ID: 'c', LP_CLIENT_SECRET: 'cs' })).toBe(
      false,
    );
    expect(needsSandbox({ LP_ACCOUNT_ID: '12345678', ...apiKey, LP_USE_SANDBOX: 'true' })).toBe(true);
    expect(sandboxSize({})).toBe(50);
    expect(sandboxSize({ SANDBOX_CONVERSATIONS: '500' })).toBe(500);
    expect(() => sandboxSize({ SANDBOX_CONVERSATIONS: 'many' })).toThrow(/SANDBOX_CONVERSATIONS: "many"/);
  });

  it('reads host.json, or uses the host defaults when it is missing', () => {
    const dir = tempDir();
    expect(loadHostJson(dir)).toEqual({});
    writeFileSync(path.join(dir, 'host.json'), '{"version":"2.0"}');
    expect(loadHostJson(dir)).toEqual({ version: '2.0' });
  });

  it('prints the connection string, services, archive folder and log URLs over the whole backfill', () => {
    const text = startBanner({
      httpUrl: 'http://127.0.0.1:7071',
      storageConnectionString: AZURITE,
      storageDir: '.local-data/azurite',
      services: ['LivePerson:      local sandbox at http://127.0.0.1:5555 (50 conversations, seed 1)'],
      settingsSource: 'local.settings.json.example',
      archiveDir: 'archive-local',
      functions: ['discoverConversations', 'archiveConversation'],
      now: new Date('2026-11-25T12:00:00Z'),
      backfillDays: 30,
    });
    expect(text).toContain(AZURITE);
    expect(text).toContain('data in .local-data/azurite');
    expect(text).toContain('  LivePerson:      local sandbox at http://127.0.0.1:5555 (50 conversations');
    // BACKFILL_DAYS (30) back to today: every item the first discovery run archives is in the range.
    expect(text).toContain('http://localhost:7071/api/log?from=2026-10-26&to=2026-11-25&format=csv');
    expect(text).toContain('http://localhost:7071/api/log/summary?from=2026-10-26&to=2026-11-25');
    expect(text).toContain('archive-local/<container>/<path>');
    expect(text).toContain('Ctrl-C');
    expect(text).toContain('--fresh');
    expect(backfillRange(new Date('2026-03-01T00:30:00Z'), 395)).toEqual({
      from: '2025-01-30',
      to: '2026-03-01',
    });
  });
});

describe('archive mirror', () => {
  it('copies each created blob to <dir>/<container>/<path> from its BlobCreated event, logging names only', async () => {
    const proxy = await startBlobEventProxy({
      upstream: inject('storageConnection'),
      logger: memoryLogger(),
    });
    const blobs = BlobServiceClient.fromConnectionString(proxy.connectionString);
    const container = `m${uid()}`;
    const c = blobs.getContainerClient(container);
    await c.createIfNotExists();
    const dir = tempDir();
    const logger = memoryLogger();
    const mirror = startArchiveMirror({
      events: proxy,
      blobs: BlobServiceClient.fromConnectionString(inject('storageConnection')),
      dir,
      logger,
      include: (n) => n === container,
    });
    try {
      await c.getBlockBlobClient('2026/11/conv-1.eml').upload('Subject: secret words\r\n\r\nbody', 31);
      await mirror.idle();
      const file = path.join(dir, container, '2026', '11', 'conv-1.eml');
      expect(readFileSync(file, 'utf8')).toBe('Subject: secret words\r\n\r\nbody');
      // A blob bigger than one stream chunk, written in blocks: streamed to the file whole.
      const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
      await c.getBlockBlobClient('2026/11/big one.eml').uploadData(big, { blockSize: 1024 * 1024 });
      await c.getBlockBlobClient('2026/11/conv-1.eml').upload('v2', 2);
      await mirror.idle();
      expect(readFileSync(path.join(dir, container, '2026', '11', 'big one.eml')).equals(big)).toBe(true);
      expect(readFileSync(file, 'utf8')).toBe('v2');
      const mine = logger.lines.filter((l) => l.message.includes(container));
      expect(mine.map((l) => [l.level, l.message]).sort()).toEqual([
        ['debug', `archive copy: ${container}/2026/11/big one.eml`],
        ['debug', `archive copy: ${container}/2026/11/conv-1.eml`],
        ['debug', `archive copy: ${container}/2026/11/conv-1.eml`],
      ]);
      expect(JSON.stringify(logger.lines)).not.toContain('secret');
      expect(proxy.operations().ListBlobs ?? 0).toBe(0);
    } finally {
      await mirror.stop();
      await proxy.close();
    }
  });
});
