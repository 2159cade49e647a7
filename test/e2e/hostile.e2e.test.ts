/**
 * Issue 12 through the real pipeline (local host + Azurite + the sandbox behind the real client), with the
 * sandbox made hostile: every conversation must end as exactly one correct row, and no evidence may be
 * wrong or silently missing.
 */
import { createHash } from 'node:crypto';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeArchiveGroup, newGroup } from '../../lib/discovery/archive-message.js';
import { MISSING_FILE_REASONS } from '../../lib/email/contract.js';
import type { StatusRow } from '../../lib/statuslog/status-row.js';
import { closedIds, type Pipeline, startPipeline } from './pipeline-harness.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function containerOf(p: Pipeline): ContainerClient {
  return BlobServiceClient.fromConnectionString(inject('storageConnection')).getContainerClient(
    p.settings.ARCHIVE_CONTAINER!,
  );
}

/** Rows by conversation; fails unless each of `ids` has exactly one. */
function exactlyOneRowEach(rows: StatusRow[], ids: readonly string[]): Map<string, StatusRow> {
  const out = new Map<string, StatusRow>();
  for (const id of ids) {
    const mine = rows.filter((r) => r.conversationId === id);
    expect(mine, JSON.stringify(id.slice(0, 40))).toHaveLength(1);
    out.set(id, mine[0]!);
  }
  return out;
}

/** Words that mean "for now", never a reason to store an item without a file. */
const TRANSIENT = /\b(429|5\d\d|timed out|IN_PROGRESS|broke off|network|unavailable)\b/i;

describe('hostile Bulk File Download: collisions, repeated entries, bombs, outages, stalls, broken transfers', () => {
  let p: Pipeline;
  let container: ContainerClient;
  let collide: string;
  let repeated: string;
  let bomb: string;
  let stalled: string;
  beforeAll(async () => {
    p = await startPipeline({
      connection: inject('storageConnection'),
      sandbox: { conversations: 40, seed: 44, spanDays: 3, fileSizes: { min: 300, max: 3000 } },
      settings: {
        LP_MAX_ATTEMPTS: '2',
        LP_FILES_DOWNLOAD_ATTEMPTS: '2',
        LP_FILES_POLL_ATTEMPTS: '3',
        ARCHIVE_GROUP_SIZE: '100',
        ARCHIVE_MAX_ATTEMPTS: '6',
      },
    });
    container = containerOf(p);
    const sb = p.sandbox;
    const withFiles = (n: number) => closedIds(sb).filter((id) => sb.conversations.files(id).length >= n);
    const two = withFiles(2);
    expect(two.length).toBeGreaterThanOrEqual(2);
    [collide, repeated] = two as [string, string];
    [bomb, stalled] = withFiles(1).filter((id) => id !== collide && id !== repeated) as [string, string];
    expect(bomb && stalled).toBeTruthy();
    // Two different files whose names differ only in folder and case.
    const [f1, f2] = sb.conversations.files(collide) as [string, string];
    sb.conversations.renameFile(collide, f1, '/d1/photo.png');
    sb.conversations.renameFile(collide, f2, '/d2/PHOTO.png');
    // A second entry under a genuine file's name, with other bytes.
    sb.hostile.addZipEntry(repeated, sb.conversations.files(repeated)[0]!, Buffer.from('impostor bytes'));
    // 200 MB of zeros where a small file should be.
    sb.hostile.zipBomb(sb.conversations.files(bomb)[0]!, 200 * 1024 * 1024);
    // Transient trouble, one after another: 503 for longer than the client retries, a request that
    // stays IN_PROGRESS past the polls, ZIP transfers that keep breaking off.
    sb.hostile.filesOutage(2);
    sb.hostile.stallBulkDownload(stalled, 1);
    sb.hostile.breakZipTransfers(2);
    await p.discoverAndSettle(300_000);
  }, 400_000);
  afterAll(async () => {
    await p?.stop();
  });

  it('exercised every fault', () => {
    const calls = p.sandbox.stats().calls;
    expect(calls['fault.503']).toBe(2);
    expect(calls['fault.broken-transfer']).toBe(2);
  });

  it('every closed conversation ends as exactly one row, and only permanent causes make an item partial', async () => {
    const rows = await p.statusRows();
    const byId = exactlyOneRowEach(rows, closedIds(p.sandbox));
    for (const [id, row] of byId) {
      expect(['archived', 'partial'], id).toContain(row.status);
      if (row.status === 'partial') expect(row.reason, id).not.toMatch(TRANSIENT);
    }
    expect(byId.get(collide)!.status).toBe('archived');
    expect(byId.get(stalled)!.status).toBe('archived');
    expect(byId.get(repeated)).toMatchObject({
      status: 'partial',
      reason: expect.stringMatching(/have this name/),
    });
    expect(byId.get(bomb)).toMatchObject({
      status: 'partial',
      reason: expect.stringMatching(/over the size limit|damaged or unsafe/),
    });
    expect(byId.get(bomb)!.size!).toBeLessThan(1024 * 1024);
  });

  it('attaches each file with its own bytes; never the wrong bytes; every missing file is named', async () => {
    const rows = await p.statusRows();
    for (const id of closedIds(p.sandbox)) {
      const files = p.sandbox.conversations.files(id);
      if (files.length === 0) continue;
      const row = rows.find((r) => r.conversationId === id)!;
      const eml = await container
        .getBlobClient(row.blobPath!.split('/').slice(1).join('/'))
        .downloadToBuffer();
      const mail = await simpleParser(eml);
      const genuine = new Set(files.map((f) => sha256(p.sandbox.conversations.fileBytes(f))));
      const attached = mail.attachments.filter(
        (a) => !a.filename?.startsWith('conversation-') && !a.filename?.startsWith('preview-'),
      );
      for (const a of attached) expect(genuine.has(sha256(a.content)), `${id}: ${a.filename}`).toBe(true);
      const missing = (row.reason ?? '')
        .split('; ')
        .filter((r) => Object.values(MISSING_FILE_REASONS).some((w) => r.endsWith(`: ${w}`)));
      expect(attached.length + missing.length, id).toBe(new Set(files).size);
      expect(eml.includes(Buffer.from('impostor bytes'))).toBe(false);
    }
    // The two colliding names got their own, different bytes.
    const row = rows.find((r) => r.conversationId === collide)!;
    const mail = await simpleParser(
      await container.getBlobClient(row.blobPath!.split('/').slice(1).join('/')).downloadToBuffer(),
    );
    const hashes = mail.attachments.map((a) => sha256(a.content));
    expect(hashes).toContain(sha256(p.sandbox.conversations.fileBytes('/d1/photo.png')));
    expect(hashes).toContain(sha256(p.sandbox.conversations.fileBytes('/d2/PHOTO.png')));
  });
});

describe('hostile IDs, messages and answers', () => {
  let p: Pipeline;
  let container: ContainerClient;
  const odd = [' same-id', 'same-id', 'same-id ', '.', '..', '\ud800', '\udc00'];
  // Over 1 KiB: the converter refuses IDs over 256 characters (a `failed` row naming the field); over 2048
  // encoded, the archive step refuses it before asking LivePerson. Either way: one row, keyed by a hash.
  const long = 'x'.repeat(1100);
  const tooLong = 'y'.repeat(3000);
  const bodies = [
    'not json at all',
    Buffer.from('\x00\x01 binary garbage').toString('base64'),
    '{"conversations": 5}',
    '{"conversationId": 7, "startTime": 1}',
  ];
  beforeAll(async () => {
    p = await startPipeline({
      connection: inject('storageConnection'),
      sandbox: { conversations: 12, seed: 42, spanDays: 2, fileSizes: { min: 300, max: 3000 } },
      settings: { LP_MAX_JSON_MB: '1' },
    });
    container = containerOf(p);
    p.sandbox.conversations.addWithIds([...odd, long, tooLong], {
      startL: p.sandbox.clock.now() - 4 * 3_600_000,
    });
    // The first by-ID answer is 5 MB: refused unread, the group split, each half fetched normally.
    p.sandbox.hostile.oversizeJson('byId', 5 * 1024 * 1024, 1);
    const queue = p.runtime.storage.queues.getQueueClient(p.settings.ARCHIVE_QUEUE!);
    await queue.createIfNotExists();
    for (const b of bodies) await queue.sendMessage(b);
    await queue.sendMessage(
      JSON.stringify({ conversationId: 'named-bad', accountId: 'x', startTime: 'yesterday' }),
    );
    // Straight into the poison queue: a message without a string conversationId.
    const poison = p.runtime.storage.queues.getQueueClient(`${p.settings.ARCHIVE_QUEUE}-poison`);
    await poison.createIfNotExists();
    await poison.sendMessage('{"conversationId": 123}');
    // What the poison handler could not record ends in <queue>-poison-poison: the sweep records it.
    const last = p.runtime.storage.queues.getQueueClient(`${p.settings.ARCHIVE_QUEUE}-poison-poison`);
    await last.createIfNotExists();
    const lost = newGroup(p.sandbox.accountId, new Date(p.sandbox.clock.now()).toISOString(), [
      {
        conversationId: 'lost-in-last-poison',
        startTime: p.sandbox.clock.now() - 86_400_000,
        updateTime: 0,
        status: 'CLOSE',
      },
    ]);
    await last.sendMessage(encodeArchiveGroup(lost));
    await p.discoverAndSettle(300_000);
    await p.host.runTimer('sweepArchivePoison');
  }, 400_000);
  afterAll(async () => {
    await p?.stop();
  });

  it('IDs are never altered: whitespace variants, . and .., lone surrogates, long IDs each get their own item and row', async () => {
    const rows = await p.statusRows();
    const byId = exactlyOneRowEach(rows, closedIds(p.sandbox));
    for (const id of [long, tooLong]) {
      expect(byId.get(id)!.rowKey).toMatch(/^~[0-9a-f]{40}\|/);
      expect(byId.get(id)!.reason).toBeTruthy();
    }
    for (const id of odd)
      expect({ ...byId.get(id)!, conversationId: id.slice(0, 20) }, byId.get(id)!.reason).toMatchObject({
        status: expect.stringMatching(/archived|partial/),
      });
    expect(byId.get(tooLong)).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/conversation ID is too long to archive \(3000 characters encoded/),
    });
    expect(p.sandbox.stats().calls['fault.oversize']).toBe(1);
    // One path segment per conversation: `.` and `..` never climb the tree; metadata keeps the exact ID.
    const seen = new Set<string>();
    for await (const b of container.listBlobsFlat({ includeMetadata: true })) {
      if (!b.name.endsWith('.eml')) continue;
      const parts = b.name.split('/');
      expect(parts, b.name).toHaveLength(5);
      expect(parts[3] === '.' || parts[3] === '..').toBe(false);
      seen.add(parts[3]!);
    }
    const folders = odd.map((id) => byId.get(id)!.blobPath!.split('/')[4]!);
    expect(new Set(folders).size).toBe(odd.length);
    for (const f of folders) expect(seen).toContain(f);
    for (const id of odd) {
      const row = byId.get(id)!;
      const props = await container
        .getBlobClient(row.blobPath!.split('/').slice(1).join('/'))
        .getProperties();
      expect(props.metadata?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(row.conversationId).toBe(id);
    }
  });

  it('every unreadable message ends as one row with the SHA-256 and size of its body, the queue and the time', async () => {
    const rows = await p.statusRows();
    const unreadable = rows.filter((r) => r.version === 'unreadable');
    const q = p.settings.ARCHIVE_QUEUE!;
    const expected = [
      ...bodies.map((b) => ({ body: b, queue: q })),
      { body: '{"conversationId": 123}', queue: `${q}-poison` },
    ];
    expect(unreadable).toHaveLength(expected.length);
    for (const e of expected) {
      const hash = sha256(Buffer.from(e.body));
      const row = unreadable.find((r) => r.bodySha256 === hash);
      expect(row, e.body).toMatchObject({
        status: 'failed',
        conversationId: '',
        queue: e.queue,
        bodySize: Buffer.byteLength(e.body),
        partitionKey: new Date().toISOString().slice(0, 10),
      });
      expect(row!.reason).toMatch(/queue message could not be read/);
    }
    expect(rows.filter((r) => r.conversationId === 'named-bad')).toEqual([
      expect.objectContaining({ status: 'failed', reason: expect.stringMatching(/startTime/) }),
    ]);
    expect(rows.filter((r) => r.conversationId === 'lost-in-last-poison')).toEqual([
      expect.objectContaining({ status: 'failed', reason: 'failed after all retries (no error recorded)' }),
    ]);
    const last = p.runtime.storage.queues.getQueueClient(`${q}-poison-poison`);
    expect((await last.peekMessages({ numberOfMessages: 32 })).peekedMessageItems).toHaveLength(0);
  });
});
