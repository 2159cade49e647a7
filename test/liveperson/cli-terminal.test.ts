/**
 * What lp-archive prints comes partly from LivePerson (conversation IDs, reasons, error bodies): it must
 * never drive the terminal. Control characters and bidi overrides are shown as escapes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { run as runConvert } from '../../lib/cli/convert.js';
import { runExport } from '../../lib/cli/export.js';
import { printable } from '../../lib/cli/terminal-text.js';
import { envFor, type FakeServer, record, serveCsds, startFakeServer } from './support/fake-server.js';

const HOSTILE = 'c1\u001b]0;owned\u0007\u001b[2J\r\n\u202efdp.exe\ud800';
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/;

let dir: string;
let server: FakeServer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lp-cli-term-'));
  server = await startFakeServer();
  serveCsds(server);
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => vi.restoreAllMocks());

describe('printable', () => {
  it('escapes control characters, separators, bidi overrides and lone surrogates; keeps the rest', () => {
    expect(printable(HOSTILE)).toBe('c1\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x0a\\u202efdp.exe\\ud800');
    expect(printable('Zoë 😀 日本 tab-free')).toBe('Zoë 😀 日本 tab-free');
  });
});

describe('lp-archive prints untrusted text safely', () => {
  it('convert: the ok line and error lines carry no raw escape sequence', async () => {
    const file = join(dir, 'hostile.json');
    await writeFile(
      file,
      JSON.stringify([record(HOSTILE, 1_700_000_000_000), { info: { conversationId: HOSTILE } }]),
    );
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
    const code = await runConvert([file, '--out', join(dir, 'out')]);
    vi.restoreAllMocks();
    expect(code).toBe(1);
    expect(out).toMatch(/^ok c1\\x1b\]0;owned\\x07/);
    expect(err).toMatch(/^error .*owned/);
    for (const text of [out, err]) {
      expect(text).not.toMatch(RAW);
      expect(text.trimEnd().split('\n')).toHaveLength(1);
    }
  });

  it('export: error lines with IDs and LivePerson texts carry no raw escape sequence', async () => {
    server.route('POST', /\/conversations\/search$/, () => ({
      json: {
        _metadata: { count: 1 },
        conversationHistoryRecords: [
          {
            info: { conversationId: HOSTILE, startTimeL: Date.UTC(2025, 0, 5) },
            messageRecords: 'not a list',
          },
        ],
      },
    }));
    server.route('GET', /\/le-users\/users$/, () => ({ json: [] }));
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (c) => {
      err += String(c);
    });
    stdout.resume();
    const code = await runExport(
      ['--from', '2025-01-01', '--to', '2025-02-01', '--out', join(dir, 'export')],
      envFor(server),
      { stdout, stderr },
    );
    expect(code).toBe(1);
    expect(err).toMatch(/^error .*owned/m);
    expect(err).not.toMatch(RAW);
  });
});
