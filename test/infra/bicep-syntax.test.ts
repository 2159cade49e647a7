/**
 * Syntax check of every Bicep file with the tree-sitter-bicep grammar (WebAssembly; the Bicep CLI cannot be
 * installed here), plus what a syntax check misses but the tree shows: identifiers that name nothing,
 * module paths that do not exist, resource types without an API version. `az bicep build` in a CI with
 * internet is still the full check (types, API versions, properties).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './app-contract.js';
import { parseBicep, parseBicepSource } from './bicep-model.js';

const bicepFiles = (readdirSync(path.join(ROOT, 'infra'), { recursive: true }) as string[])
  .map((f) => f.split(path.sep).join('/'))
  .filter((f) => f.endsWith('.bicep'));

describe('Bicep files', () => {
  it('found main.bicep and its modules', () => {
    expect(bicepFiles).toEqual(expect.arrayContaining(['main.bicep', 'modules/private-network.bicep']));
  });

  for (const rel of bicepFiles) {
    it(`${rel}: parses without errors, every identifier declared, modules and API versions present`, async () => {
      const file = path.join(ROOT, 'infra', rel);
      const model = await parseBicep(file);
      expect(model.errors).toEqual([]);
      expect(model.undeclared).toEqual([]);
      expect(model.resources.length).toBeGreaterThan(0);
      for (const r of model.resources) {
        expect(r.type, r.symbol).toMatch(/^Microsoft\.[A-Za-z]+(\/[A-Za-z]+)+$/);
        expect(r.apiVersion, r.symbol).toMatch(/^\d{4}-\d{2}-\d{2}(-preview)?$/);
      }
      for (const m of model.modules)
        expect(existsSync(path.join(path.dirname(file), m.path)), m.path).toBe(true);
      for (const [name, p] of model.params)
        expect(
          p.decorators.some((d) => d.startsWith('@description(')) || rel !== 'main.bicep',
          `main.bicep parameter ${name} has a description`,
        ).toBe(true);
    });
  }

  it('the checker itself finds a syntax error, a misspelt symbol and a loop variable used outside its loop', async () => {
    const broken = await parseBicepSource(
      "param a string\nresource r 'Microsoft.X/y@2024-01-01' = {\n  name: a\n",
    );
    expect(broken.errors.length).toBeGreaterThan(0);
    const typo = await parseBicepSource(
      [
        "param location string = 'x'",
        "resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {",
        '  name: locaton',
        '}',
        "resource q 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for n in ['a']: {",
        '  parent: st',
        '  name: n',
        '}]',
        'output o string = n',
        "var fine = map(['a'], item => toUpper(item))",
        'var calls = [resourceGroup().id, environment().name]',
      ].join('\n'),
    );
    expect(typo.errors).toEqual([]);
    expect(typo.undeclared.map((u) => u.name)).toEqual(['locaton', 'n']);
  });
});
