import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../../lib/cli/export.js';
import { envFor, type FakeServer, serveCsds, startFakeServer } from './support/fake-server.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (c) => out.push(String(c)));
  stderr.on('data', (c) => err.push(String(c)));
  return { io: { stdout, stderr }, out: () => out.join(''), err: () => err.join('') };
}

let server: FakeServer;
let dir: string;
beforeAll(async () => {
  server = await startFakeServer();
  serveCsds(server);
  dir = await mkdtemp(join(tmpdir(), 'lp-export-cli-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const range = ['--from', '2025-01-01', '--to', '2025-02-01'];

describe('lp-archive export usage and configuration', () => {
  it.each([
    [[...range], '--out DIR is required'],
    [['--to', '2025-02-01', '--out', 'x'], '--from DATE is required'],
    [['--from', 'yesterday', '--to', '2025-02-01', '--out', 'x'], "--from 'yesterday' is not an ISO 8601"],
    [['--from', '2025-02-01', '--to', '2025-01-01', '--out', 'x'], '--to must be after --from'],
    [[...range, '--out', 'x', '--status', 'CLOSED'], "--status 'CLOSED' must be OPEN or CLOSE"],
    [[...range, '--out', 'x', '--concurrency', '0'], '--concurrency must be'],
    [[...range, '--out', 'x', '--bogus'], "Unknown option '--bogus'"],
  ])('%j → exit 2 with %s', async (argv, text) => {
    const t = io();
    expect(await runExport(argv, envFor(server), t.io)).toBe(2);
    expect(t.err()).toContain(text);
  });

  it('names missing settings without echoing secrets, exit 2', async () => {
    const t = io();
    const code = await runExport([...range, '--out', 'x'], { LP_APP_KEY: 'super-secret-key-value' }, t.io);
    expect(code).toBe(2);
    expect(t.err()).toContain('LP_ACCOUNT_ID is required');
    expect(t.err()).toContain('missing LP_APP_SECRET');
    expect(t.err()).not.toContain('super-secret-key-value');
  });

  it('stops with exit 1 and the reason when LivePerson refuses the search', async () => {
    server.route('GET', /\/le-users\/users$/, () => ({ json: [] }));
    server.route('POST', /\/conversations\/search$/, () => ({
      status: 403,
      json: { message: 'no Data permission' },
    }));
    const t = io();
    const out = join(dir, 'refused');
    expect(await runExport([...range, '--out', out], envFor(server), t.io)).toBe(1);
    expect(t.err()).toContain(
      'lp-archive export: stopped: LivePerson msgHist search (offset 0) answered 403: {"message":"no Data permission"}',
    );
    expect(await readdir(out)).toEqual([]);
  });

  it('an empty range exports nothing and says so', async () => {
    server.route('POST', /\/conversations\/search$/, () => ({ json: { _metadata: { count: 0 } } }));
    const t = io();
    expect(await runExport([...range, '--out', join(dir, 'empty')], envFor(server), t.io)).toBe(0);
    expect(t.out()).toMatch(
      /^exported 0 \(partial 0\), failed 0, LivePerson calls 3 \(csds 1, search 1, users 1\)/,
    );
  });
});
