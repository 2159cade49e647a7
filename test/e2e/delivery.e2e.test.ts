import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ArchivedBlobMetadataSchema } from '../../lib/archive/blob-layout.js';
import { bytesOf } from '../mailbox/support.js';
import { archiveAndRecord, filesIn, sha256 } from './delivery-support.js';
import { logRange, type Pipeline, startPipeline } from './pipeline-harness.js';

const FOLDER = 'LivePerson Conversational Cloud DataParser';
type LogRow = Record<string, string | number>;

/** The log of the sandbox's span, or of June 2024 (the conversations made by the tests themselves). */
async function logRows(p: Pipeline, range = logRange(p.sandbox, 300)): Promise<LogRow[]> {
  const { from, to } = range;
  const res = await p.get(`/api/log?from=${from}&to=${to}&format=json`);
  expect(res.status).toBe(200);
  return (await res.json()) as LogRow[];
}

const JUNE_2024 = { from: '2024-06-01', to: '2024-06-30' };

/** The Graph sandbox's user for an address (mail, UPN or proxy address), as the tenant would resolve it. */
function userOf(p: Pipeline, address: string) {
  const a = address.toLowerCase();
  return p.graph!.users.find(
    (x) =>
      x.userPrincipalName.toLowerCase() === a ||
      x.mail?.toLowerCase() === a ||
      x.proxyAddresses.some((pa) => pa.toLowerCase() === `smtp:${a}`),
  );
}
const mailboxOf = (p: Pipeline, address: string) => {
  const u = userOf(p, address);
  return u?.hasMailbox ? (u.mail ?? u.userPrincipalName).toLowerCase() : undefined;
};

describe('mailbox delivery end to end (LivePerson sandbox → archive → Graph sandbox)', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({
      connection: inject('storageConnection'),
      sandbox: { conversations: 14, seed: 11, spanDays: 3 },
      graph: { seed: 3 },
    });
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('puts every item in every mapped mailbox exactly once, in the folder, not a draft, with its original date, Message-ID and bytes', async () => {
    await p.discoverAndSettle(180_000);
    const rows = await p.statusRows();
    const items = rows.filter((r) => r.status === 'archived' || r.status === 'partial');
    expect(items.length).toBeGreaterThan(5);
    const container = p.runtime.storage.blobs.getContainerClient(p.settings.ARCHIVE_CONTAINER!);
    const expected = new Map<string, Set<string>>(); // mailbox → Message-IDs
    const itemBytes = new Map<string, Buffer>(); // Message-ID → archived .eml
    let unmapped = 0;
    let noMailbox = 0; // a tenant user without an Exchange mailbox: that delivery fails for good, with its reason
    for (const row of items) {
      const blobName = row.blobPath!.split('/').slice(1).join('/');
      const blob = container.getBlobClient(blobName);
      const meta = ArchivedBlobMetadataSchema.parse((await blob.getProperties()).metadata);
      itemBytes.set(meta.messageid!, await blob.downloadToBuffer());
      const boxes = new Set(
        meta.candidates
          .filter((c) => c.role !== 'CONSUMER' && c.address)
          .map((c) => mailboxOf(p, c.address!))
          .filter((m): m is string => m !== undefined),
      );
      const users = meta.candidates
        .filter((c) => c.role !== 'CONSUMER' && c.address)
        .map((c) => userOf(p, c.address!));
      noMailbox += new Set(users.filter((u) => u && !u.hasMailbox).map((u) => u!.id)).size;
      if (users.every((u) => !u)) unmapped++;
      for (const b of boxes) expected.set(b, new Set([...(expected.get(b) ?? []), meta.messageid!]));
    }
    expect(expected.size).toBeGreaterThan(2);

    for (const address of p.graph!.mailboxes()) {
      const got = await p.graph!.items(address);
      const ids = got.map((i) => i.internetMessageId);
      expect(new Set(ids).size, `${address}: duplicates`).toBe(ids.length);
      // Items over one Graph request arrive as parts; parts 2..n carry Message-IDs of their own.
      const whole = got.filter((i) => !i.internetMessageId.startsWith('<part-'));
      expect(new Set(whole.map((i) => i.internetMessageId)), address).toEqual(
        expected.get(address) ?? new Set(),
      );
      for (const item of got) expect(item.isDraft).toBe(false);
      for (const item of whole.filter((i) => !/\(part \d+ of \d+\)$/.test(i.subject))) {
        expect(item.isDraft).toBe(false);
        expect(item.createdVia).toBe('importMime');
        const archived = itemBytes.get(item.internetMessageId)!;
        expect(item.sha256).toBe(sha256(archived));
        const date = (await simpleParser(archived)).date!;
        expect(Date.parse(item.receivedDateTime)).toBe(date.getTime());
      }
      const folders = p.graph!.folders(address).find((f) => f.wellKnownName === 'inbox')?.children ?? [];
      if (expected.has(address)) expect(folders.filter((f) => f.displayName === FOLDER)).toHaveLength(1);
    }

    // The log accounts for every (item, mailbox) and every unmapped item.
    const log = await logRows(p);
    const delivered = log.filter((r) => r.deliveryStatus === 'delivered');
    expect(delivered.length).toBe([...expected.values()].reduce((s, v) => s + v.size, 0));
    for (const r of delivered) expect(String(r.mailbox)).toMatch(/@/);
    expect(log.filter((r) => r.deliveryStatus === 'unmapped')).toHaveLength(unmapped);
    expect(log.filter((r) => r.deliveryStatus === 'pending')).toEqual([]);
    const failed = log.filter((r) => r.deliveryStatus === 'failed');
    expect(failed).toHaveLength(noMailbox);
    for (const f of failed) expect(f.deliveryReason).toBe('the user has no Exchange Online mailbox');
    const { from, to } = logRange(p.sandbox, 300);
    const days = (await (await p.get(`/api/log/summary?from=${from}&to=${to}&format=json`)).json()) as Record<
      string,
      number
    >[];
    const total = (k: string) => days.reduce((s, d) => s + Number(d[k]), 0);
    expect(total('itemsImported')).toBe(delivered.length);
    expect(total('itemsImportFailed')).toBe(unmapped + noMailbox);
    expect(total('itemsAvailableForImport')).toBe(delivered.length + unmapped + noMailbox);
  });

  it('a rerun of planning, and duplicated delivery messages, make no second copy', async () => {
    const before = new Map<string, number>();
    for (const a of p.graph!.mailboxes()) before.set(a, (await p.graph!.items(a)).length);
    const rows = (await p.statusRows()).filter((r) => r.status === 'archived' || r.status === 'partial');
    for (const r of rows) {
      const blobName = r.blobPath!.split('/').slice(1).join('/');
      await p.runtime.delivery!.enqueuePlan(blobName);
      await p.runtime.delivery!.enqueuePlan(blobName);
    }
    await p.host.idle({ timeoutMs: 120_000 });
    for (const a of p.graph!.mailboxes()) expect((await p.graph!.items(a)).length, a).toBe(before.get(a));
    const log = await logRows(p);
    expect(log.filter((r) => r.deliveryStatus === 'duplicate' || r.deliveryStatus === 'pending')).toEqual([]);
  });
});

describe('mailbox delivery of large, unmapped and over-limit items', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({
      connection: inject('storageConnection'),
      sandbox: { conversations: 0, seed: 1 },
      graph: { seed: 5, keepContent: true },
      settings: { MAILBOX_MAX_ITEM_MB: '100' },
    });
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('delivers an item with 60 MB of files, every file intact', async () => {
    const files = [
      { name: 'scan-1.pdf', bytes: bytesOf(20 * 1024 * 1024, 21) },
      { name: 'scan-2.pdf', bytes: bytesOf(20 * 1024 * 1024, 22) },
      { name: 'video.mp4', bytes: bytesOf(20 * 1024 * 1024, 23) },
      { name: 'small.png', bytes: bytesOf(40_000, 24) },
    ];
    const stored = await archiveAndRecord(p, 'big-60mb', files, 'jane.doe@brand.example');
    await p.host.idle({ timeoutMs: 240_000 });
    const got = await p.graph!.items('jane.doe@brand.example');
    const mine = got.filter((i) => i.subject.startsWith(stored.result.subject));
    expect(mine.length).toBeGreaterThan(20); // numbered parts under 4 MB each
    for (const m of mine) expect(m.isDraft).toBe(false);
    expect(mine.map((m) => m.internetMessageId)).toContain(stored.result.messageId);
    const back = await filesIn(mine.map((m) => m.mime));
    for (const f of files) expect(sha256(back.get(f.name) ?? Buffer.alloc(0)), f.name).toBe(sha256(f.bytes));
    const row = (await logRows(p, JUNE_2024)).find(
      (r) => r.conversationId === 'big-60mb' && r.mailbox === 'jane.doe@brand.example',
    );
    expect(row).toMatchObject({ deliveryStatus: 'delivered' });
    expect(String(row?.deliveryReason)).toMatch(/delivered as \d+ parts/);
  }, 300_000);

  it('an item none of whose participants has a mailbox is logged unmapped, and stays archived', async () => {
    await archiveAndRecord(p, 'nobody-here', [], 'left.the.company@brand.example');
    await p.host.idle({ timeoutMs: 60_000 });
    const rows = (await logRows(p, JUNE_2024)).filter((r) => r.conversationId === 'nobody-here');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'archived', mailbox: '', deliveryStatus: 'unmapped' });
    expect(String(rows[0]?.deliveryReason)).toContain(
      'no Microsoft 365 mailbox for left.the.company@brand.example',
    );
  });
});

describe('mailbox delivery with a fallback mailbox and a small mailbox limit', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({
      connection: inject('storageConnection'),
      sandbox: { conversations: 0, seed: 1 },
      graph: { seed: 6 },
      settings: { MAILBOX_MAX_ITEM_MB: '2', FALLBACK_MAILBOX: 'archive-fallback@brand.example' },
    });
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('sends an unmapped item to the fallback mailbox', async () => {
    const stored = await archiveAndRecord(p, 'to-fallback', [], 'nobody@brand.example');
    await p.host.idle({ timeoutMs: 60_000 });
    const got = await p.graph!.items('archive-fallback@brand.example');
    expect(got.map((i) => i.internetMessageId)).toEqual([stored.result.messageId]);
    const rows = (await logRows(p, JUNE_2024)).filter((r) => r.conversationId === 'to-fallback');
    expect(rows).toMatchObject([{ mailbox: 'archive-fallback@brand.example', deliveryStatus: 'delivered' }]);
  });

  it('leaves a file over the mailbox limit out of the mailbox copy, names it with its SHA-256, and logs a partial import', async () => {
    const big = { name: 'too-big.bin', bytes: bytesOf(3 * 1024 * 1024, 31) };
    const ok = { name: 'fits.png', bytes: bytesOf(100_000, 32) };
    const stored = await archiveAndRecord(p, 'over-limit', [big, ok], 'jane.doe@brand.example');
    await p.host.idle({ timeoutMs: 60_000 });
    const got = (await p.graph!.items('jane.doe@brand.example')).filter(
      (i) => i.internetMessageId === stored.result.messageId,
    );
    expect(got).toHaveLength(1);
    const mail = await simpleParser(got[0]!.mime);
    expect(mail.attachments.map((a) => a.filename)).toContain('fits.png');
    expect(mail.attachments.map((a) => a.filename)).not.toContain('too-big.bin');
    expect(mail.text).toContain(`too-big.bin: 3.0 MB, SHA-256 ${sha256(big.bytes)}`);
    expect(mail.text).toContain(stored.blobName);
    const { from, to } = JUNE_2024;
    const row = (await logRows(p, JUNE_2024)).find((r) => r.conversationId === 'over-limit');
    expect(row).toMatchObject({ deliveryStatus: 'delivered', mailbox: 'jane.doe@brand.example' });
    expect(String(row?.deliveryReason)).toMatch(/partially imported: too-big.bin left out/);
    const days = (await (await p.get(`/api/log/summary?from=${from}&to=${to}&format=json`)).json()) as Record<
      string,
      number
    >[];
    expect(days.reduce((s, d) => s + d.itemsPartiallyImported!, 0)).toBe(1);
  });
});

describe('mailbox delivery under Graph faults', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({
      connection: inject('storageConnection'),
      sandbox: { conversations: 10, seed: 21, spanDays: 2 },
      graph: {
        seed: 7,
        // The first two stores (a folder or an item) are kept and then dropped for certain; later ones at random.
        faults: {
          rate429: 0.1,
          rate503: 0.1,
          retryAfterSeconds: 1,
          commitThenDropRate: 0.1,
          commitThenDropFirst: 2,
        },
      },
      queues: { maxDequeueCount: 8 },
    });
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('with 20 % 429/503, duplicated messages and crashes between the Graph call and the log: nothing twice, nothing missing, the log exact', async () => {
    await p.discoverAndSettle(300_000);
    const rows = (await p.statusRows()).filter((r) => r.status === 'archived' || r.status === 'partial');
    for (const r of rows) await p.runtime.delivery!.enqueuePlan(r.blobPath!.split('/').slice(1).join('/'));
    await p.host.idle({ timeoutMs: 300_000 });
    const stats = p.graph!.stats();
    expect(stats.injected['429'] + stats.injected['503']).toBeGreaterThan(3);
    expect(stats.injected.commitThenDrop).toBeGreaterThan(0);
    const log = await logRows(p);
    const delivered = log.filter((r) => r.deliveryStatus === 'delivered');
    for (const f of log.filter((r) => r.deliveryStatus === 'failed'))
      expect(f.deliveryReason).toBe('the user has no Exchange Online mailbox');
    // Only conversations still open at LivePerson wait: they are delivered once they close and are archived.
    const waiting = log.filter((r) => r.deliveryStatus === 'pending' || r.deliveryStatus === 'duplicate');
    expect(waiting.filter((r) => r.status !== 'open')).toEqual([]);
    for (const r of waiting) expect(r.deliveryReason).toBe('not archived yet (still open at LivePerson)');
    let stored = 0;
    for (const a of p.graph!.mailboxes()) {
      const ids = (await p.graph!.items(a)).map((i) => i.internetMessageId);
      expect(new Set(ids).size, a).toBe(ids.length);
      stored += ids.filter((id) => !id.startsWith('<part-')).length;
      const logged = delivered.filter((r) => String(r.mailbox).toLowerCase() === a).length;
      // A big item arrives as numbered parts; parts 2..n have Message-IDs of their own (<part-k-of-n.…>).
      expect(ids.filter((id) => !id.startsWith('<part-')).length, a).toBe(logged);
    }
    expect(stored).toBe(delivered.length);
    expect(stored).toBeGreaterThan(5);
  });
});

describe('mailbox delivery with GRAPH_IMPORT_MODE=json (v1.0 JSON create, upload sessions)', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({
      connection: inject('storageConnection'),
      sandbox: { conversations: 0, seed: 1 },
      graph: { seed: 8 },
      settings: { GRAPH_IMPORT_MODE: 'json' },
    });
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('creates a received (non-draft) message with its original times and Message-ID, and every file intact', async () => {
    const files = [
      { name: 'statement.pdf', bytes: bytesOf(7 * 1024 * 1024, 41) }, // upload session, 3 ranges
      { name: 'receipt.png', bytes: bytesOf(200_000, 42) },
    ];
    const stored = await archiveAndRecord(p, 'json-mode', files, 'jane.doe@brand.example');
    await p.host.idle({ timeoutMs: 120_000 });
    const got = (await p.graph!.items('jane.doe@brand.example')).filter(
      (i) => i.internetMessageId === stored.result.messageId,
    );
    expect(got).toHaveLength(1);
    const item = got[0]!;
    expect(item.isDraft).toBe(false);
    expect(item.createdVia).toBe('json');
    expect(Date.parse(item.receivedDateTime)).toBe(stored.result.startTime.getTime());
    const byName = new Map(item.attachments.map((a) => [a.name, a.bytes]));
    for (const f of files)
      expect(sha256(byName.get(f.name) ?? Buffer.alloc(0)), f.name).toBe(sha256(f.bytes));
    expect([...byName.keys()].some((n) => n.startsWith('conversation-') && n.endsWith('.json'))).toBe(true);
    const stats = p.graph!.stats().calls;
    expect(stats['uploadSession.put']).toBeGreaterThanOrEqual(3);
    // Planned again: found by its Message-ID, not created twice.
    await p.runtime.delivery!.enqueuePlan(stored.blobName);
    await p.host.idle({ timeoutMs: 60_000 });
    expect(
      (await p.graph!.items('jane.doe@brand.example')).filter(
        (i) => i.internetMessageId === stored.result.messageId,
      ),
    ).toHaveLength(1);
    const row = (await logRows(p, JUNE_2024)).find((r) => r.conversationId === 'json-mode');
    expect(row).toMatchObject({ deliveryStatus: 'delivered', mailbox: 'jane.doe@brand.example' });
  }, 180_000);
});
