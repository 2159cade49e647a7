/**
 * The Bicep cannot be compiled here (no Bicep CLI offline), so its contract with the code is checked from
 * the text: every connection and %SETTING% used by the captured bindings, and every setting the app
 * validates at start-up, is set in the app settings; identity-based storage has every service URI the
 * bindings need; the data roles are assigned; storage shared keys are off.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { capturedFunctions } from '../../dev/host/functions-core-capture.js';
import { AppSettingsSchema } from '../../lib/config.js';
import { FUNCTION_NAMES, loadFunctions } from '../e2e/pipeline-harness.js';

const bicep = readFileSync(new URL('../../infra/main.bicep', import.meta.url), 'utf8');
const appSettingsBlock = bicep.slice(
  bicep.indexOf('appSettings: ['),
  bicep.indexOf(']', bicep.lastIndexOf("name: 'LP_")),
);
const settingNames = new Set([...appSettingsBlock.matchAll(/\{ name: '([^']+)'/g)].map((m) => m[1]!));
const example = JSON.parse(
  readFileSync(new URL('../../local.settings.json.example', import.meta.url), 'utf8'),
) as {
  Values: Record<string, string>;
};

describe('infra/main.bicep matches what the functions use', () => {
  beforeAll(async () => {
    await loadFunctions();
  });

  it('found the app settings block', () => {
    expect(settingNames.size).toBeGreaterThan(15);
  });

  it('every %SETTING% in a binding is an app setting', () => {
    const used = new Set<string>();
    for (const name of FUNCTION_NAMES) {
      for (const b of Object.values(capturedFunctions().get(name)!.metadata.bindings))
        for (const v of Object.values(b))
          if (typeof v === 'string') for (const m of v.matchAll(/%([^%]+)%/g)) used.add(m[1]!);
    }
    expect([...used].sort()).toEqual(['ARCHIVE_QUEUE', 'DISCOVERY_SCHEDULE']);
    for (const s of used) expect(settingNames, s).toContain(s);
  });

  it('every binding connection is identity-based with the service URIs its binding types need', () => {
    for (const name of FUNCTION_NAMES) {
      for (const b of Object.values(capturedFunctions().get(name)!.metadata.bindings)) {
        const conn = b.connection as string | undefined;
        if (!conn) continue;
        expect(settingNames).toContain(`${conn}__credential`);
        expect(settingNames).toContain(`${conn}__clientId`);
        expect(settingNames).not.toContain(conn); // no connection string (shared keys are off)
        if (b.type.startsWith('queue') || b.type === 'blobTrigger')
          expect(settingNames).toContain(`${conn}__queueServiceUri`);
        if (b.type.startsWith('blob')) expect(settingNames).toContain(`${conn}__blobServiceUri`);
      }
    }
    // The code's own table clients use the same connection.
    expect(settingNames).toContain('AzureWebJobsStorage__tableServiceUri');
  });

  it('every setting the app validates is set in Azure and in local.settings.json.example', () => {
    for (const key of Object.keys(AppSettingsSchema.shape)) {
      expect(settingNames, key).toContain(key);
      expect(Object.keys(example.Values), key).toContain(key);
    }
    for (const lp of [
      'LP_ACCOUNT_ID',
      'LP_APP_KEY',
      'LP_APP_SECRET',
      'LP_ACCESS_TOKEN',
      'LP_ACCESS_TOKEN_SECRET',
      'LP_CLIENT_ID',
      'LP_CLIENT_SECRET',
    ])
      expect(settingNames, lp).toContain(lp);
  });

  it('LivePerson secrets come from Key Vault references, never literal values', () => {
    for (const secret of ['LP_APP_SECRET', 'LP_ACCESS_TOKEN_SECRET', 'LP_CLIENT_SECRET']) {
      const line = appSettingsBlock.split('\n').find((l) => l.includes(`name: '${secret}'`))!;
      expect(line).toMatch(/@Microsoft\.KeyVault\(SecretUri=/);
    }
    expect(bicep).toMatch(/keyVaultReferenceIdentity: identity\.id/);
  });

  it('assigns the data roles, turns shared keys off, and runs Flex Consumption on Node 22', () => {
    for (const id of [
      'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
      '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
      '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
      '4633458b-17de-408a-b874-0445c86b69e6',
    ])
      expect(bicep).toContain(id);
    expect(bicep).toMatch(/allowSharedKeyAccess: false/);
    expect(bicep).toMatch(/name: 'FC1'/);
    expect(bicep).toMatch(/runtime: \{ name: 'node', version: '22' \}/);
    expect(bicep).toMatch(/immutableStorageWithVersioning: \{ enabled: true \}/);
    expect(bicep).toMatch(/Microsoft\.EventGrid\/systemTopics/);
  });
});
