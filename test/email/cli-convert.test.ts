import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { emlFileName, run } from '../../lib/cli/convert.js';
import { emlProblems, parse } from './eml-assertions.js';

const FIXTURE = new URL('../fixtures/liveperson/messaging-search-response.json', import.meta.url).pathname;
const USERS = new URL('../fixtures/liveperson/users.json', import.meta.url).pathname;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lp-convert-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs the command in-process, capturing what it prints. */
async function cli(argv: string[]) {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  const code = await run(argv);
  vi.restoreAllMocks();
  return { code, out, err };
}

describe('lp-archive convert', () => {
  it('writes one valid .eml per conversation, the same bytes on a second run', async () => {
    const out = join(dir, 'a');
    const first = await cli([FIXTURE, '--out', out, '--users', USERS]);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    const lines = first.out.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^ok 7c2e41aa-1f00-4d1b-9e55-0b6a2c9d8e01 .*7c2e41aa-1f00-4d1b-9e55-0b6a2c9d8e01\.eml \[partial: receipt\.png: files are not fetched/,
    );
    expect(lines[1]).toMatch(/^ok b81f3c20-5a5a-4e4e-9f9f-202020202020 \S+\.eml$/);
    const files = (await readdir(out)).sort();
    expect(files).toEqual([
      '7c2e41aa-1f00-4d1b-9e55-0b6a2c9d8e01.eml',
      'b81f3c20-5a5a-4e4e-9f9f-202020202020.eml',
      'c3c3c3c3-0000-4111-8222-333333333333.eml',
    ]);
    const before = await Promise.all(files.map((f) => readFile(join(out, f))));
    for (const eml of before) expect(emlProblems(eml)).toEqual([]);
    const mail = await parse(before[0] as Buffer);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value.map((v) => v.address) : []).toContain(
      'maya.cohen@brand.example',
    );

    const second = await cli([FIXTURE, '--out', out, '--users', USERS]);
    expect(second.code).toBe(0);
    const after = await Promise.all(files.map((f) => readFile(join(out, f))));
    for (const [i, b] of after.entries()) expect(b.equals(before[i] as Buffer)).toBe(true);
  });

  it('a malformed record is reported with file, record and field; the others are still written; exit 1', async () => {
    const doc = JSON.parse(await readFile(FIXTURE, 'utf8'));
    doc.conversationHistoryRecords[1].messageRecords[1].timeL = 'soon';
    delete doc.conversationHistoryRecords[2].info.conversationId;
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify(doc));
    const out = join(dir, 'b');
    const res = await cli([bad, '--out', out, '--address-domain', 'example.net']);
    expect(res.code).toBe(1);
    const errors = res.err.trim().split('\n');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBe(
      `error ${bad}: record #1: conversation b81f3c20-5a5a-4e4e-9f9f-202020202020: messageRecords[1].timeL: expected number, received string`,
    );
    expect(errors[1]).toMatch(
      new RegExp(`^error ${bad}: record #2 \\(no conversation id\\): info\\.conversationId: `),
    );
    expect(await readdir(out)).toEqual(['7c2e41aa-1f00-4d1b-9e55-0b6a2c9d8e01.eml']);
    expect(
      (await readFile(join(out, '7c2e41aa-1f00-4d1b-9e55-0b6a2c9d8e01.eml'), 'latin1')).includes(
        '@example.net>',
      ),
    ).toBe(true);
  });

  it('accepts a single record or an array; reports unreadable files; --help and usage errors', async () => {
    const doc = JSON.parse(await readFile(FIXTURE, 'utf8'));
    const single = join(dir, 'single.json');
    const array = join(dir, 'array.json');
    const broken = join(dir, 'broken.json');
    await writeFile(single, JSON.stringify(doc.conversationHistoryRecords[2]));
    await writeFile(array, JSON.stringify(doc.conversationHistoryRecords.slice(1, 2)));
    await writeFile(broken, '{"conversationHistoryRecords": [');
    const res = await cli([single, array, broken, '--out', join(dir, 'c')]);
    expect(res.code).toBe(1);
    expect(res.out.trim().split('\n')).toHaveLength(2);
    expect(res.err).toMatch(/^error .*broken\.json: cannot read JSON/);

    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: lp-archive convert FILE...');
    expect((await cli([FIXTURE])).code).toBe(2);
    expect((await cli([FIXTURE, '--out', dir, '--bogus'])).code).toBe(2);
  });

  it('--threads 2 writes the same bytes through the worker pool; bad options are usage errors', async () => {
    const one = join(dir, 't1');
    const two = join(dir, 't2');
    expect((await cli([FIXTURE, '--out', one, '--users', USERS])).code).toBe(0);
    const pooled = await cli([FIXTURE, '--out', two, '--users', USERS, '--threads', '2']);
    expect(pooled.code).toBe(0);
    expect(
      pooled.out
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[1]),
    ).toEqual([
      '7c2e41aa-1f00-4d1b-9e55-0b6a2c9d8e01',
      'b81f3c20-5a5a-4e4e-9f9f-202020202020',
      'c3c3c3c3-0000-4111-8222-333333333333',
    ]);
    for (const f of await readdir(one)) {
      expect((await readFile(join(two, f))).equals(await readFile(join(one, f)))).toBe(true);
    }
    expect((await cli([FIXTURE, '--out', dir, '--threads', '0'])).code).toBe(2);
    const badDomain = await cli([FIXTURE, '--out', dir, '--address-domain', 'not a domain']);
    expect(badDomain.code).toBe(2);
    expect(badDomain.err).toContain('--address-domain');
  });

  it('file names are safe and distinct for odd ids', () => {
    expect(emlFileName('abc-123')).toBe('abc-123.eml');
    expect(emlFileName('../../etc/passwd')).toMatch(/^etc-passwd-[0-9a-f]{8}\.eml$/);
    expect(emlFileName('A/B')).not.toBe(emlFileName('a-b'));
  });
});
