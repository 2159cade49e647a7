import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { createLivePersonClient } from '../../lib/liveperson/client.js';
import { readLivePersonConfig } from '../../lib/liveperson/config.js';
import { envFor, type FakeServer, fakeJwt, serveCsds, startFakeServer } from './support/fake-server.js';

const CREATE = /^\/v1\/account\/acct1\/bulk-download-requests$/;
const STATUS = /^\/v1\/account\/acct1\/bulk-download-requests\/[^/]+$/;

async function zipOf(files: Record<string, Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of Object.entries(files)) zip.addBuffer(data, name);
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

const ref = (relativePath: string) => ({ conversationId: 'conv-1', messageId: 'm', relativePath });
const client = () => createLivePersonClient(readLivePersonConfig(envFor(server)), { sleep: async () => {} });

describe('Bulk File Download', () => {
  it('creates one request, polls to READY, downloads every ZIP without credentials, serves entries by basename', async () => {
    const a = Buffer.from('first file bytes');
    const b = Buffer.alloc(70_000, 7);
    const zips = [await zipOf({ 'files/ABC.PNG': a }), await zipOf({ 'def.pdf': b })];
    server.route('POST', CREATE, (req) => {
      expect(JSON.parse(req.body)).toEqual({ filter: { conversationId: 'conv-1' } });
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
    const c = client();
    const files = c.hostedFiles('conv-1');
    const [first, second, absent] = await Promise.all([
      files(ref('/v1/AUTH_async-images/acct1/abc.png')),
      files(ref('/v1/AUTH_async-images/acct1/DEF.PDF')),
      files(ref('/v1/AUTH_async-images/acct1/nope.gif')),
    ]);
    expect(first.status === 'ok' && (await bytes(first.content)).equals(a)).toBe(true);
    expect(first).toMatchObject({ filename: 'ABC.PNG', contentType: 'image/png', size: a.length });
    expect(second.status === 'ok' && (await bytes(second.content)).equals(b)).toBe(true);
    expect(absent).toEqual({
      status: 'missing',
      code: 'not-in-archive',
      reason: 'file nope.gif is not in the Bulk File Download archive',
    });
    await files.dispose();
    expect(c.callCounts()).toMatchObject({ 'files.create': 1, 'files.status': 3, 'files.download': 2 });
    const downloads = server.requests.filter((r) => r.path.startsWith('/zips/'));
    expect(downloads).toHaveLength(2);
    for (const d of downloads) expect(d.headers.authorization).toBeUndefined();
    for (const r of server.requests.filter((x) => CREATE.test(x.path) || STATUS.test(x.path)))
      expect(r.headers.authorization).toMatch(/^Bearer /);
    await expect(files(ref('/x/abc.png'))).rejects.toThrow(/already disposed/);
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
    const c = createLivePersonClient(
      readLivePersonConfig(envFor(server, { LP_FILES_DOWNLOAD_ATTEMPTS: '2' })),
      { sleep: async () => {} },
    );
    const files = c.hostedFiles('conv-1');
    await expect(files(ref('/x/big.png'))).rejects.toThrow(
      'LivePerson Bulk File Download archive 1 of 1 (conversation conv-1) broke off 2 times',
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
    const c = createLivePersonClient(
      readLivePersonConfig(envFor(server, { LP_FILES_DOWNLOAD_TIMEOUT_MS: '1000', LP_MAX_ATTEMPTS: '1' })),
      { sleep: async () => {} },
    );
    const files = c.hostedFiles('conv-1');
    const started = Date.now();
    await expect(files(ref('/x/late.png'))).rejects.toThrow(/timed out after 1000 ms/);
    expect(Date.now() - started).toBeLessThan(4000);
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
    await expect(files(ref('/a/b.png'))).rejects.toThrow(/Refusing to contact .*not https/);
    await files.dispose();
    expect(attacker.requests).toHaveLength(0);
  });

  it('gives up polling after the configured number of polls with a clear error', async () => {
    server.route('POST', CREATE, () => ({ status: 201, json: { requestId: 'r3', status: 'NEW' } }));
    server.route('GET', STATUS, () => ({ json: { requestId: 'r3', status: 'IN_PROGRESS' } }));
    const c = createLivePersonClient(readLivePersonConfig(envFor(server, { LP_FILES_POLL_ATTEMPTS: '3' })), {
      sleep: async () => {},
    });
    const files = c.hostedFiles('conv-1');
    await expect(files(ref('/a/b.png'))).rejects.toThrow(
      'LivePerson Bulk File Download request r3 (conversation conv-1) still IN_PROGRESS after 3 polls',
    );
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
