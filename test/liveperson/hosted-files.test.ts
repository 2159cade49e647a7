import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { createLivePersonClient } from '../../lib/liveperson/client.js';
import { readLivePersonConfig } from '../../lib/liveperson/config.js';
import { envFor, type FakeServer, fakeJwt, serveCsds, startFakeServer } from './support/fake-server.js';

const CREATE = /^\/v1\/account\/acct1\/bulk-download-requests$/;
const STATUS = /^\/v1\/account\/acct1\/bulk-download-requests\/[^/]+$/;

type Entry = [name: string, data: Buffer, opts?: { compress?: boolean }];

async function zipOf(entries: Entry[] | Record<string, Buffer>): Promise<Buffer> {
  const list: Entry[] = Array.isArray(entries) ? entries : Object.entries(entries);
  const zip = new yazl.ZipFile();
  for (const [name, data, opts] of list) zip.addBuffer(data, name, { compress: opts?.compress ?? true });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function bytes(content: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of content as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

let server: FakeServer;
let attacker: FakeServer;
beforeAll(async () => {
  server = await startFakeServer();
  attacker = await startFakeServer();
});
afterAll(async () => {
  await server.close();
  await attacker.close();
});
beforeEach(() => {
  server.requests.length = 0;
  serveCsds(server);
  server.route('POST', /\/app\/token$/, () => ({ json: { access_token: fakeJwt(9e9, 1) } }));
});

const ref = (relativePath: string, conversationId = 'conv-1') => ({
  conversationId,
  messageId: 'm',
  relativePath,
});

function clientWith(env: Record<string, string | undefined> = {}) {
  const pauses: number[] = [];
  const warnings: string[] = [];
  const client = createLivePersonClient(readLivePersonConfig(envFor(server, env)), {
    sleep: async (ms) => void pauses.push(ms),
    logger: { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} },
  });
  return { client, pauses, warnings };
}
const client = () => clientWith().client;

/** A Bulk File Download that is READY at once with these archives (served by this fake server). */
function serveReady(zips: Buffer[], requestId = 'r1') {
  server.route('POST', CREATE, () => ({
    status: 201,
    json: {
      requestId,
      status: 'READY',
      downloadUrls: zips.map((_, i) => `${server.origin}/zips/${requestId}-${i}.zip`),
    },
  }));
  server.route('GET', /^\/zips\/.*\.zip$/, (req) => ({ body: zips[Number(req.path.slice(-5, -4))]! }));
}

describe('Bulk File Download: one request per group', () => {
  it('sends the group as one list filter, polls with backoff, downloads each ZIP once, serves each conversation its own files', async () => {
    const a1 = Buffer.from('conv-1 first file');
    const a2 = Buffer.alloc(70_000, 7);
    const b1 = Buffer.from('conv-2 file with the same name as conv-1 first file');
    const zips = [
      await zipOf({
        'conv-1/v1/AUTH_async-images/acct1/abc.PNG': a1,
        'conv-2/v1/AUTH_async-images/acct1/abc.PNG': b1,
      }),
      await zipOf({ 'conv-1/v1/AUTH_async-images/acct1/def.pdf': a2 }),
    ];
    server.route('POST', CREATE, (req) => {
      expect(JSON.parse(req.body)).toEqual({ filter: { conversationIds: ['conv-1', 'conv-2'] } });
      return { status: 201, json: { requestId: 'r1', status: 'NEW', downloadUrls: [] } };
    });
    server.route('GET', STATUS, (_req, n) =>
      n < 3
        ? { json: { requestId: 'r1', status: n === 1 ? 'IN_PROGRESS' : 'IN_PROGRESS_RETRY' } }
        : {
            json: {
              requestId: 'r1',
              status: 'READY',
              downloadUrls: [`${server.origin}/zips/0.zip?sig=abc`, `${server.origin}/zips/1.zip?sig=def`],
            },
          },
    );
    server.route('GET', /^\/zips\/\d\.zip$/, (req) => ({ body: zips[Number(req.path.at(-5))]! }));
    const { client: c, pauses } = clientWith({ LP_FILES_POLL_MS: '1000', LP_FILES_POLL_MAX_MS: '3000' });
    const group = c.hostedFilesOf([
      {
        conversationId: 'conv-1',
        relativePaths: ['/v1/AUTH_async-images/acct1/abc.PNG', '/v1/AUTH_async-images/acct1/def.pdf'],
      },
      { conversationId: 'conv-2', relativePaths: ['/v1/AUTH_async-images/acct1/abc.PNG'] },
      { conversationId: 'conv-3', relativePaths: [] },
    ]);
    const [first, second, other, wrongCase] = await Promise.all([
      group.provider('conv-1')(ref('/v1/AUTH_async-images/acct1/abc.PNG')),
      group.provider('conv-1')(ref('/v1/AUTH_async-images/acct1/def.pdf')),
      group.provider('conv-2')(ref('/v1/AUTH_async-images/acct1/abc.PNG', 'conv-2')),
      group.provider('conv-1')(ref('/v1/AUTH_async-images/acct1/DEF.PDF')),
    ]);
    expect(first.status === 'ok' && (await bytes(first.content)).equals(a1)).toBe(true);
    expect(first).toMatchObject({ filename: 'abc.PNG', contentType: 'image/png', size: a1.length });
    expect(second.status === 'ok' && (await bytes(second.content)).equals(a2)).toBe(true);
    expect(other.status === 'ok' && (await bytes(other.content)).equals(b1)).toBe(true);
    // Matching is exact and case-sensitive: a name that differs in case is not that file.
    expect(wrongCase).toMatchObject({ status: 'missing', code: 'not-in-archive' });
    await group.dispose();
    expect(c.callCounts()).toMatchObject({ 'files.create': 1, 'files.status': 3, 'files.download': 2 });
    expect(pauses).toEqual([1000, 2000, 3000]);
    const downloads = server.requests.filter((r) => r.path.startsWith('/zips/'));
    expect(downloads).toHaveLength(2);
    for (const d of downloads) expect(d.headers.authorization).toBeUndefined();
    for (const r of server.requests.filter((x) => CREATE.test(x.path) || STATUS.test(x.path)))
      expect(r.headers.authorization).toMatch(/^Bearer /);
    await expect(group.provider('conv-1')(ref('/x/abc.png'))).rejects.toThrow(/already disposed/);
  });

  it('falls back to one documented request per conversation when LivePerson refuses the list filter, and remembers it', async () => {
    const zipFor = async (id: string) => zipOf({ [`v1/f/${id}.png`]: Buffer.from(`bytes of ${id}`) });
    const zips = new Map([
      ['c1', await zipFor('c1')],
      ['c2', await zipFor('c2')],
    ]);
    server.route('POST', CREATE, (req) => {
      const filter = JSON.parse(req.body).filter;
      if (filter.conversationIds)
        return { status: 400, json: { message: 'filter: only conversationId is allowed' } };
      return {
        status: 201,
        json: {
          requestId: filter.conversationId,
          status: 'READY',
          downloadUrls: [`${server.origin}/zips/${filter.conversationId}.zip`],
        },
      };
    });
    server.route('GET', /^\/zips\/c\d\.zip$/, (req) => ({ body: zips.get(req.path.slice(6, 8))! }));
    const { client: c, warnings } = clientWith();
    const members = [
      { conversationId: 'c1', relativePaths: ['/v1/f/c1.png'] },
      { conversationId: 'c2', relativePaths: ['/v1/f/c2.png'] },
    ];
    const g1 = c.hostedFilesOf(members);
    const [x, y] = await Promise.all([
      g1.provider('c1')(ref('/v1/f/c1.png', 'c1')),
      g1.provider('c2')(ref('/v1/f/c2.png', 'c2')),
    ]);
    expect(x.status === 'ok' && (await bytes(x.content)).toString()).toBe('bytes of c1');
    expect(y.status === 'ok' && (await bytes(y.content)).toString()).toBe('bytes of c2');
    await g1.dispose();
    expect(warnings).toEqual([
      expect.stringMatching(/refused the list filter.*one request per conversation/),
    ]);
    // The next group goes straight to single requests: no second 400.
    const g2 = c.hostedFilesOf(members);
    await g2.provider('c1')(ref('/v1/f/c1.png', 'c1'));
    await g2.dispose();
    const bodies = server.requests.filter((r) => CREATE.test(r.path)).map((r) => JSON.parse(r.body).filter);
    expect(bodies).toEqual([
      { conversationIds: ['c1', 'c2'] },
      { conversationId: 'c1' },
      { conversationId: 'c2' },
      { conversationId: 'c1' },
    ]);
    expect(warnings).toHaveLength(1);
  });

  it('LP_FILES_REQUEST=conversation sends only the documented single filter', async () => {
    serveReady([await zipOf({ 'v1/a.png': Buffer.from('a') })]);
    const { client: c } = clientWith({ LP_FILES_REQUEST: 'conversation' });
    const g = c.hostedFilesOf([
      { conversationId: 'c1', relativePaths: ['/v1/a.png'] },
      { conversationId: 'c2', relativePaths: ['/v1/a.png'] },
    ]);
    await g.provider('c1')(ref('/v1/a.png', 'c1'));
    await g.dispose();
    expect(server.requests.filter((r) => CREATE.test(r.path)).map((r) => JSON.parse(r.body))).toEqual([
      { filter: { conversationId: 'c1' } },
    ]);
  });

  it('a FAILED group request is asked again per conversation, so only the failing one is marked', async () => {
    server.route('POST', CREATE, (req) => {
      const f = JSON.parse(req.body).filter;
      if (f.conversationIds || f.conversationId === 'bad')
        return { status: 201, json: { requestId: 'rf', status: 'FAILED' } };
      return {
        status: 201,
        json: { requestId: 'ok', status: 'READY', downloadUrls: [`${server.origin}/zips/ok.zip`] },
      };
    });
    const zip = await zipOf({ 'v1/good.png': Buffer.from('good') });
    server.route('GET', /^\/zips\/ok\.zip$/, () => ({ body: zip }));
    const g = client().hostedFilesOf([
      { conversationId: 'good', relativePaths: ['/v1/good.png'] },
      { conversationId: 'bad', relativePaths: ['/v1/bad.png'] },
    ]);
    expect(await g.provider('good')(ref('/v1/good.png', 'good'))).toMatchObject({ status: 'ok' });
    expect(await g.provider('bad')(ref('/v1/bad.png', 'bad'))).toEqual({
      status: 'missing',
      code: 'request-failed',
      reason: 'Bulk File Download request rf FAILED',
    });
    await g.dispose();
  });

  it('a group archive whose entries are not under conversation folders is not trusted: per-conversation requests instead', async () => {
    server.route('POST', CREATE, (req) => {
      const f = JSON.parse(req.body).filter;
      const name = f.conversationIds ? 'all' : f.conversationId;
      return {
        status: 201,
        json: { requestId: name, status: 'READY', downloadUrls: [`${server.origin}/zips/${name}.zip`] },
      };
    });
    const flat = await zipOf({ 'photo.png': Buffer.from('which conversation?') });
    const c1 = await zipOf({ 'v1/c1/photo.png': Buffer.from('c1 photo') });
    server.route('GET', /^\/zips\/\w+\.zip$/, (req) => ({ body: req.path.includes('all') ? flat : c1 }));
    const { client: c, warnings } = clientWith();
    const g = c.hostedFilesOf([
      { conversationId: 'c1', relativePaths: ['/v1/c1/photo.png'] },
      { conversationId: 'c2', relativePaths: ['/v1/c2/photo.png'] },
    ]);
    const r = await g.provider('c1')(ref('/v1/c1/photo.png', 'c1'));
    expect(r.status === 'ok' && (await bytes(r.content)).toString()).toBe('c1 photo');
    await g.dispose();
    expect(warnings[0]).toMatch(/outside any conversation folder/);
  });
});

describe('Bulk File Download: names are matched exactly, never guessed', () => {
  it('two files differing only in folder and case get their own bytes', async () => {
    const small = Buffer.from('the small photo');
    const big = Buffer.from('the BIG photo, different bytes');
    serveReady([await zipOf({ 'd1/photo.png': small, 'd2/PHOTO.png': big })]);
    const files = client().hostedFiles('conv-1');
    const [a, b] = await Promise.all([files(ref('/d1/photo.png')), files(ref('/d2/PHOTO.png'))]);
    expect(a.status === 'ok' && (await bytes(a.content)).equals(small)).toBe(true);
    expect(b.status === 'ok' && (await bytes(b.content)).equals(big)).toBe(true);
    await files.dispose();
  });

  it('a repeated entry name is ambiguous: the file is missing with the reason, not replaced', async () => {
    serveReady([
      await zipOf([
        ['v1/x/photo.png', Buffer.from('genuine')],
        ['v1/x/photo.png', Buffer.from('impostor')],
        ['v1/x/other.png', Buffer.from('other')],
      ]),
    ]);
    const files = client().hostedFiles('conv-1');
    expect(await files(ref('/v1/x/photo.png'))).toEqual({
      status: 'missing',
      code: 'ambiguous-name',
      reason: 'the archive holds 2 entries named photo.png',
    });
    expect(await files(ref('/v1/x/other.png'))).toMatchObject({ status: 'ok' });
    await files.dispose();
  });

  it('a basename match is used only when it fits one entry and one file', async () => {
    serveReady([await zipOf({ 'only.png': Buffer.from('only'), 'twice.png': Buffer.from('twice') })]);
    const g = client().hostedFilesOf([
      { conversationId: 'conv-1', relativePaths: ['/a/only.png', '/a/twice.png', '/b/twice.png'] },
    ]);
    const p = g.provider('conv-1');
    const only = await p(ref('/a/only.png'));
    expect(only.status === 'ok' && (await bytes(only.content)).toString()).toBe('only');
    for (const path of ['/a/twice.png', '/b/twice.png'])
      expect(await p(ref(path))).toMatchObject({ status: 'missing', code: 'ambiguous-name' });
    await g.dispose();
  });

  it('one damaged entry costs only its own file', async () => {
    const good = Buffer.from('good file bytes');
    const zip = await zipOf([
      ['v1/damaged.png', Buffer.from('DAMAGE-ME-PLEASE'), { compress: false }],
      ['v1/good.png', good, { compress: false }],
    ]);
    const at = zip.indexOf('DAMAGE-ME-PLEASE');
    zip.write('TAMPERED', at); // same length, different bytes: the CRC no longer matches
    serveReady([zip]);
    const files = client().hostedFiles('conv-1');
    expect(await files(ref('/v1/damaged.png'))).toEqual({
      status: 'missing',
      code: 'unsafe-archive',
      reason: 'archive entry fails its checksum (damaged or forged)',
    });
    const ok = await files(ref('/v1/good.png'));
    expect(ok.status === 'ok' && (await bytes(ok.content)).equals(good)).toBe(true);
    await files.dispose();
  });
});

describe('Bulk File Download: limits on what LivePerson sends', () => {
  it('refuses a file over LP_FILES_MAX_FILE_MB and a compression bomb without expanding them', async () => {
    serveReady([
      await zipOf({
        'v1/big.bin': randomBytes(1024 * 1024 + 10),
        'v1/bomb.txt': Buffer.alloc(5 * 1024 * 1024), // zeros: ~1000:1
        'v1/fine.png': Buffer.from('fine'),
      }),
    ]);
    const { client: c } = clientWith({ LP_FILES_MAX_FILE_MB: '1', LP_FILES_MAX_RATIO: '100' });
    const files = c.hostedFiles('conv-1');
    expect(await files(ref('/v1/big.bin'))).toMatchObject({
      status: 'missing',
      code: 'too-large',
      reason: expect.stringMatching(/file is 1 MB expanded, over the limit of 1 MB \(LP_FILES_MAX_FILE_MB\)/),
    });
    const { client: c2 } = clientWith({ LP_FILES_MAX_RATIO: '100' });
    const files2 = c2.hostedFiles('conv-1');
    expect(await files2(ref('/v1/bomb.txt'))).toMatchObject({
      status: 'missing',
      code: 'unsafe-archive',
      reason: expect.stringMatching(/expands \d+:1, over the limit of 100:1/),
    });
    expect(await files2(ref('/v1/fine.png'))).toMatchObject({ status: 'ok' });
    await files.dispose();
    await files2.dispose();
  });

  it('refuses an archive with more entries than LP_FILES_MAX_ENTRIES before reading them', async () => {
    const many: Entry[] = Array.from({ length: 30 }, (_, i) => [`v1/f${i}.txt`, Buffer.from(String(i))]);
    serveReady([await zipOf(many)]);
    const files = clientWith({ LP_FILES_MAX_ENTRIES: '20' }).client.hostedFiles('conv-1');
    expect(await files(ref('/v1/f1.txt'))).toMatchObject({
      status: 'missing',
      code: 'unsafe-archive',
      reason: 'archive 1 has 30 entries, over the limit of 20 (LP_FILES_MAX_ENTRIES); not expanded',
    });
    await files.dispose();
  });

  it('keeps a conversation within LP_FILES_MAX_ITEM_MB, deciding in record order', async () => {
    const mb = (n: number) => randomBytes(n * 1024 * 1024);
    serveReady([await zipOf({ 'v1/a.bin': mb(1), 'v1/b.bin': mb(1), 'v1/c.bin': Buffer.from('c') })]);
    const g = clientWith({ LP_FILES_MAX_ITEM_MB: '1' }).client.hostedFilesOf([
      { conversationId: 'conv-1', relativePaths: ['/v1/a.bin', '/v1/b.bin', '/v1/c.bin'] },
    ]);
    const p = g.provider('conv-1');
    // Asked in reverse order: the outcome follows the record's order, not the order of asking.
    const [c, b, a] = await Promise.all([p(ref('/v1/c.bin')), p(ref('/v1/b.bin')), p(ref('/v1/a.bin'))]);
    expect(a.status).toBe('ok');
    expect(b).toMatchObject({
      status: 'missing',
      code: 'too-large',
      reason: expect.stringMatching(/LP_FILES_MAX_ITEM_MB/),
    });
    expect(c).toMatchObject({ status: 'missing', code: 'too-large' });
    await g.dispose();
  });

  it('stops downloading an archive over LP_FILES_MAX_ZIP_MB', async () => {
    serveReady([await zipOf({ 'v1/a.bin': randomBytes(1_200_000) })]);
    const files = clientWith({ LP_FILES_MAX_ZIP_MB: '1' }).client.hostedFiles('conv-1');
    expect(await files(ref('/v1/a.bin'))).toMatchObject({
      status: 'missing',
      code: 'too-large',
      reason: 'archive 1 of 1 is over 1 MB (LP_FILES_MAX_ZIP_MB); not downloaded',
    });
    await files.dispose();
  });
});

describe('Bulk File Download: transient failures throw (retried through the queue), permanent ones answer missing', () => {
  it('503 on every attempt throws, it never answers missing', async () => {
    server.route('POST', CREATE, () => ({ status: 503, json: { message: 'Service unavailable' } }));
    const files = clientWith({ LP_MAX_ATTEMPTS: '2' }).client.hostedFiles('conv-1');
    await expect(files(ref('/v1/a.png'))).rejects.toThrow(/failed after 2 attempts; last answered 503/);
    await files.dispose();
  });

  it('downloads an archive again when the transfer breaks off mid-body', async () => {
    const data = randomBytes(300_000); // incompressible, so the ZIP is large too
    const zip = await zipOf({ 'big.png': data });
    server.route('POST', CREATE, () => ({
      status: 201,
      json: { requestId: 'r5', status: 'READY', downloadUrls: [`${server.origin}/zips/big.zip`] },
    }));
    server.route('GET', /^\/zips\/big\.zip$/, (_req, n) =>
      n === 1 ? { body: zip, breakAfter: 1000 } : { body: zip },
    );
    const c = client();
    const files = c.hostedFiles('conv-1');
    const r = await files(ref('/x/big.png'));
    expect(r.status === 'ok' && (await bytes(r.content)).equals(data)).toBe(true);
    expect(c.callCounts()['files.download']).toBe(2);
    await files.dispose();
  });

  it('gives up on a transfer that keeps breaking off after LP_FILES_DOWNLOAD_ATTEMPTS, naming the archive', async () => {
    const zip = await zipOf({ 'big.png': randomBytes(300_000) });
    server.route('POST', CREATE, () => ({
      status: 201,
      json: { requestId: 'r6', status: 'READY', downloadUrls: [`${server.origin}/zips/bad.zip`] },
    }));
    server.route('GET', /^\/zips\/bad\.zip$/, () => ({ body: zip, breakAfter: 1000 }));
    const c = clientWith({ LP_FILES_DOWNLOAD_ATTEMPTS: '2' }).client;
    const files = c.hostedFiles('conv-1');
    await expect(files(ref('/x/big.png'))).rejects.toThrow(
      'LivePerson Bulk File Download request for conversation conv-1: archive 1 of 1 broke off 2 times',
    );
    expect(c.callCounts()['files.download']).toBe(2);
    await files.dispose();
  });

  it('holds a ZIP transfer to LP_FILES_DOWNLOAD_TIMEOUT_MS', async () => {
    server.route('POST', CREATE, () => ({
      status: 201,
      json: { requestId: 'r7', status: 'READY', downloadUrls: [`${server.origin}/zips/slow.zip`] },
    }));
    server.route('GET', /^\/zips\/slow\.zip$/, () => 'hang');
    const c = clientWith({ LP_FILES_DOWNLOAD_TIMEOUT_MS: '1000', LP_MAX_ATTEMPTS: '1' }).client;
    const files = c.hostedFiles('conv-1');
    await expect(files(ref('/x/late.png'))).rejects.toThrow(/timed out after 1000 ms/);
    await files.dispose();
  });

  it('gives up polling after the configured number of polls with a clear error', async () => {
    server.route('POST', CREATE, () => ({ status: 201, json: { requestId: 'r3', status: 'NEW' } }));
    server.route('GET', STATUS, () => ({ json: { requestId: 'r3', status: 'IN_PROGRESS' } }));
    const files = clientWith({ LP_FILES_POLL_ATTEMPTS: '3' }).client.hostedFiles('conv-1');
    await expect(files(ref('/a/b.png'))).rejects.toThrow(
      'LivePerson Bulk File Download request for conversation conv-1: request r3 still IN_PROGRESS after 3 polls',
    );
    await files.dispose();
  });

  it('a FAILED request answers missing with the request id', async () => {
    server.route('POST', CREATE, () => ({ status: 201, json: { requestId: 'r9', status: 'FAILED' } }));
    const files = client().hostedFiles('conv-1');
    expect(await files(ref('/a/b.png'))).toEqual({
      status: 'missing',
      code: 'request-failed',
      reason: 'Bulk File Download request r9 FAILED',
    });
    await files.dispose();
  });

  it('refuses an archive link on a host that is not allowed, without contacting it', async () => {
    server.route('POST', CREATE, () => ({
      status: 201,
      json: { requestId: 'r2', status: 'READY', downloadUrls: [`${attacker.origin}/z.zip`] },
    }));
    const files = client().hostedFiles('conv-1');
    expect(await files(ref('/a/b.png'))).toEqual({
      status: 'missing',
      code: 'refused-host',
      reason: `archive 1 of 1 is on ${attacker.host}, a host that is not allowed (LP_ALLOWED_HOSTS); not contacted`,
    });
    await files.dispose();
    expect(attacker.requests).toHaveLength(0);
  });

  it('answers not-enabled for a 403', async () => {
    server.route('POST', CREATE, () => ({ status: 403, json: { message: 'Forbidden' } }));
    const files = client().hostedFiles('conv-1');
    expect(await files(ref('/a/b.png'))).toMatchObject({ status: 'missing', code: 'not-enabled' });
    await files.dispose();
  });

  it('without OAuth 2.0 credentials every file is missing with the reason', async () => {
    const c = createLivePersonClient(
      readLivePersonConfig(envFor(server, { LP_CLIENT_ID: undefined, LP_CLIENT_SECRET: undefined })),
    );
    const files = c.hostedFiles('conv-1');
    expect(await files(ref('/a/b.png'))).toEqual({
      status: 'missing',
      code: 'no-credentials',
      reason: 'Bulk File Download needs OAuth 2.0 client credentials (LP_CLIENT_ID, LP_CLIENT_SECRET)',
    });
    await files.dispose();
    expect(server.count(CREATE)).toBe(0);
  });
});
