/**
 * A tiny loopback HTTP server for the client's unit tests: routes are plain functions, every request is
 * recorded (method, path, query, headers, body) so tests can count calls and inspect Authorization.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Reply = {
  status?: number;
  json?: unknown;
  body?: Buffer | string;
  headers?: Record<string, string>;
  /** Announce the whole body, send only this many bytes, then drop the connection. */
  breakAfter?: number;
};
export type Route = (req: Recorded, n: number) => Reply | Promise<Reply> | 'hang' | 'reset';

export interface FakeServer {
  host: string;
  origin: string;
  requests: Recorded[];
  route(method: string, pathPattern: RegExp, handler: Route): void;
  count(pathPattern: RegExp): number;
  close(): Promise<void>;
}

export async function startFakeServer(): Promise<FakeServer> {
  const routes: Array<{ method: string; pattern: RegExp; handler: Route; calls: number }> = [];
  const requests: Recorded[] = [];
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const rec: Recorded = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    requests.push(rec);
    const r = routes.find((x) => x.method === rec.method && x.pattern.test(rec.path));
    if (!r) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no route"}');
      return;
    }
    const reply = await r.handler(rec, ++r.calls);
    if (reply === 'reset') {
      req.socket.destroy();
      return;
    }
    if (reply === 'hang') {
      hanging.add(res);
      return;
    }
    const headers = { ...(reply.headers ?? {}) };
    let body: Buffer | string = reply.body ?? '';
    if (reply.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(reply.json);
    }
    if (reply.breakAfter !== undefined) {
      const buf = Buffer.from(body);
      res.writeHead(reply.status ?? 200, { ...headers, 'content-length': String(buf.length) });
      res.write(buf.subarray(0, reply.breakAfter), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.writeHead(reply.status ?? 200, headers).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    origin: `http://127.0.0.1:${port}`,
    requests,
    route(method, pattern, handler) {
      routes.unshift({ method, pattern, handler, calls: 0 });
    },
    count: (pattern) => requests.filter((r) => pattern.test(r.path)).length,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** CSDS answering every service with this server's own host. */
export function serveCsds(
  server: FakeServer,
  account = 'acct1',
  overrides: Record<string, string> = {},
): void {
  server.route('GET', new RegExp(`^/api/account/${account}/service/baseURI\\.json$`), () => ({
    json: {
      baseURIs: ['msgHist', 'accountConfigReadOnly', 'sentinel', 'fms', 'engHistDomain'].map((service) => ({
        service,
        account,
        baseURI: overrides[service] ?? server.host,
      })),
    },
  }));
}

export const SECRETS = {
  LP_APP_KEY: 'appkey-SECRET-1111',
  LP_APP_SECRET: 'appsecret-SECRET-2222',
  LP_ACCESS_TOKEN: 'accesstoken-SECRET-3333',
  LP_ACCESS_TOKEN_SECRET: 'tokensecret-SECRET-4444',
  LP_CLIENT_ID: 'clientid-5555',
  LP_CLIENT_SECRET: 'clientsecret-SECRET-6666',
};

/** Env for a client talking to `server` with tiny pauses so retries cost nothing. */
export function envFor(server: FakeServer, extra: Record<string, string | undefined> = {}) {
  return {
    LP_ACCOUNT_ID: 'acct1',
    ...SECRETS,
    LP_CSDS_URL: server.origin,
    LP_ALLOWED_HOSTS: server.host,
    LP_RETRY_BASE_MS: '1',
    LP_RETRY_PAUSES_MS: '1,2,3',
    LP_FILES_POLL_MS: '1',
    LP_TIMEOUT_MS: '5000',
    ...extra,
  };
}

/** A JWT-shaped token (unsigned; the client only reads `exp`). */
export function fakeJwt(expSeconds: number, n: number): string {
  const b = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'none' })}.${b({ exp: expSeconds, n })}.sig${n}`;
}

/** A minimal conversation record. */
export function record(id: string, startTimeL: number, extra: Record<string, unknown> = {}) {
  return { info: { conversationId: id, startTimeL, status: 'CLOSE', ...extra }, messageRecords: [] };
}
