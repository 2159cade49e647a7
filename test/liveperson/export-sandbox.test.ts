/**
 * The client and `lp-archive export` against the LivePerson sandbox with injected 429/5xx, dropped
 * connections and partial pages: every conversation in range exported exactly once, with its files.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../dev/sandbox/index.js';
import { emlFileName } from '../../lib/cli/convert.js';
import { runExport } from '../../lib/cli/export.js';
import { createLivePersonClient } from '../../lib/liveperson/client.js';
import { readLivePersonConfig } from '../../lib/liveperson/config.js';
import { NOT_ENABLED_REASON } from '../../lib/liveperson/hosted-files.js';

const DAY = 24 * 60 * 60_000;
const fast = {
  LP_RETRY_BASE_MS: '1',
  LP_RETRY_PAUSES_MS: '1,2,5',
  LP_FILES_POLL_MS: '1',
  LP_MAX_ATTEMPTS: '12',
  LP_TIMEOUT_MS: '20000',
};

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (c) => out.push(String(c)));
  stderr.on('data', (c) => err.push(String(c)));
  return { io: { stdout, stderr }, out: () => out.join(''), err: () => err.join('') };
}

let sb: Sandbox;
let dir: string;
beforeAll(async () => {
  sb = await startSandbox({
    conversations: 60,
    seed: 11,
    spanDays: 20,
    faultRate: 0.2,
    partialPageRate: 0.1,
    dropRate: 0.03,
    fileSizes: { min: 200, max: 4000 },
  });
  dir = await mkdtemp(join(tmpdir(), 'lp-export-test-'));
});
afterAll(async () => {
  await sb?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('export against the sandbox with faults', () => {
  it('exports every conversation in range exactly once, with its files; a corrupt record is named', async () => {
    const ids = sb.conversations.ids();
    expect(ids.length).toBe(60);
    const corrupt = ids[7]!;
    sb.conversations.corrupt(corrupt, (raw) => {
      raw.messageRecords[0].timeL = 'yesterday';
    });
    const now = sb.clock.now();
    const from = new Date(now - 30 * DAY).toISOString();
    const to = new Date(now + DAY).toISOString();
    const out = join(dir, 'run1');
    const t = io();
    const code = await runExport(['--from', from, '--to', to, '--out', out], { ...sb.env, ...fast }, t.io);

    expect(t.err()).toMatch(new RegExp(`error conversation ${corrupt}: .*messageRecords\\[0\\]\\.timeL`));
    expect(code).toBe(1);
    // The faults really happened (and were absorbed by retries).
    const faults = Object.entries(sb.stats().calls).filter(([k]) => k.startsWith('fault.'));
    expect(faults.reduce((n, [, v]) => n + v, 0)).toBeGreaterThan(0);
    const summary = t.out().trim().split('\n').at(-1)!;
    expect(summary).toMatch(/^exported 59 \(partial \d+\), failed 1, LivePerson calls \d+ /);

    const files = (await readdir(out)).sort();
    const expected = ids
      .filter((id) => id !== corrupt)
      .map(emlFileName)
      .sort();
    expect(files).toEqual(expected); // nothing missing, nothing extra, no temp leftovers

    let withFiles = 0;
    for (const id of ids) {
      if (id === corrupt) continue;
      const mail = await simpleParser(await readFile(join(out, emlFileName(id))));
      const attached = mail.attachments.filter((a) => a.contentType !== 'application/json');
      const hosted = sb.conversations.files(id);
      expect(attached.length, `attachments of ${id}`).toBe(hosted.length);
      for (const path of hosted) {
        const bytes = sb.conversations.fileBytes(path);
        expect(
          attached.some((a) => a.content.equals(bytes)),
          `${path} of ${id}`,
        ).toBe(true);
      }
      if (hosted.length > 0) withFiles++;
    }
    expect(withFiles).toBeGreaterThan(0);
  });

  it('a re-run over the same range writes the same files', async () => {
    const now = sb.clock.now();
    const args = [
      '--from',
      new Date(now - 30 * DAY).toISOString(),
      '--to',
      new Date(now + DAY).toISOString(),
    ];
    const a = join(dir, 'rerun-a');
    const b = join(dir, 'rerun-b');
    sb.setFaults({ faultRate: 0, partialPageRate: 0, dropRate: 0 });
    expect(await runExport([...args, '--out', a, '--status', 'CLOSE'], { ...sb.env, ...fast }, io().io)).toBe(
      1,
    );
    expect(await runExport([...args, '--out', b, '--status', 'CLOSE'], { ...sb.env, ...fast }, io().io)).toBe(
      1,
    );
    const names = (await readdir(a)).sort();
    expect(names).toEqual((await readdir(b)).sort());
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect((await readFile(join(a, n))).equals(await readFile(join(b, n)))).toBe(true);
  });
});

describe('client against the sandbox', () => {
  it('search yields each conversation once across split windows and partial pages', async () => {
    sb.setFaults({ faultRate: 0.2, partialPageRate: 0.2, dropRate: 0 });
    const client = createLivePersonClient(readLivePersonConfig({ ...sb.env, ...fast }));
    const now = sb.clock.now();
    const seen: string[] = [];
    // A year-long range: several 88-day windows, most of them empty.
    for await (const page of client.searchConversations({
      start: { from: now - 365 * DAY, to: now + DAY },
    })) {
      for (const r of page.records)
        seen.push((r as { info: { conversationId: string } }).info.conversationId);
    }
    expect(seen.length).toBe(new Set(seen).size);
    expect([...seen].sort()).toEqual([...sb.conversations.ids()].sort());
    expect(client.callCounts().search).toBeGreaterThanOrEqual(5);
  });

  it('a removed file is reported missing, the rest served', async () => {
    sb.setFaults({ faultRate: 0, partialPageRate: 0 });
    const id = sb.conversations.ids().find((i) => sb.conversations.files(i).length >= 2)!;
    expect(id).toBeDefined();
    const [gone, kept] = sb.conversations.files(id) as [string, string];
    sb.conversations.removeFile(id, gone);
    const client = createLivePersonClient(readLivePersonConfig({ ...sb.env, ...fast }));
    const files = client.hostedFiles(id);
    try {
      const missing = await files({ conversationId: id, messageId: 'm1', relativePath: gone });
      expect(missing.status).toBe('missing');
      const ok = await files({ conversationId: id, messageId: 'm2', relativePath: kept });
      expect(ok.status).toBe('ok');
      if (ok.status === 'ok') {
        const chunks: Buffer[] = [];
        for await (const c of ok.content as AsyncIterable<Buffer>) chunks.push(c);
        expect(Buffer.concat(chunks).equals(sb.conversations.fileBytes(kept))).toBe(true);
        expect(ok.size).toBe(sb.conversations.fileBytes(kept).length);
      }
      expect(client.callCounts()['files.create']).toBe(1);
    } finally {
      await files.dispose();
    }
  });
});

describe('Bulk File Download not enabled', () => {
  let off: Sandbox;
  beforeAll(async () => {
    off = await startSandbox({ conversations: 10, seed: 3, bulkFileDownload: false });
  });
  afterAll(async () => {
    await off?.stop();
  });

  it('answers missing with a clear reason', async () => {
    const client = createLivePersonClient(readLivePersonConfig({ ...off.env, ...fast }));
    const files = client.hostedFiles(off.conversations.ids()[0]!);
    const r = await files({ conversationId: 'x', messageId: 'm', relativePath: '/a/b.png' });
    expect(r).toEqual({ status: 'missing', code: 'not-enabled', reason: NOT_ENABLED_REASON });
    await files.dispose();
  });
});

describe('export progress', () => {
  let big: Sandbox;
  beforeAll(async () => {
    big = await startSandbox({
      conversations: 130,
      seed: 5,
      spanDays: 10,
      fileSizes: { min: 100, max: 400 },
    });
  });
  afterAll(async () => {
    await big?.stop();
  });
  const args = () => {
    const now = big.clock.now();
    return ['--from', new Date(now - 20 * DAY).toISOString(), '--to', new Date(now + DAY).toISOString()];
  };
  const exportedCount = (out: string) => Number(/exported (\d+)/.exec(out)?.[1]);

  it('draws a bar on a terminal that ends at every conversation done', async () => {
    const t = io();
    // What cli-progress needs of a terminal: isTTY and a width; readline writes the cursor moves to it.
    Object.assign(t.io.stderr, { isTTY: true, columns: 100 });
    const code = await runExport([...args(), '--out', join(dir, 'tty')], { ...big.env, ...fast }, t.io);
    expect(code).toBe(0);
    const n = exportedCount(t.out());
    expect(n).toBeGreaterThan(100);
    const frames = t
      .err()
      .split(/\r|\x1b\[[0-9;?]*[A-Za-z]/)
      .filter((f) => f.startsWith('export ['));
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.at(-1)).toMatch(new RegExp(`\\] ${n}/${n} conversations \\| failed 0`));
  });

  it('writes plain progress lines every 100 conversations elsewhere', async () => {
    const t = io();
    const code = await runExport([...args(), '--out', join(dir, 'plain')], { ...big.env, ...fast }, t.io);
    expect(code).toBe(0);
    const n = exportedCount(t.out());
    expect(t.err()).toContain(`progress: 100/${n} conversations, 0 failed\n`);
    expect(t.err()).not.toContain('\x1b[');
  });
});
