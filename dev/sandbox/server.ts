/**
 * The sandbox's HTTP front: routing, authentication (OAuth 1.0a or Sentinel bearer), fault injection,
 * latency and call accounting. Each handler answers like LivePerson: JSON bodies and LivePerson's codes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BulkDownloads } from './bulk.js';
import { USERS, userEntity } from './directory.js';
import type { OAuth1Verifier } from './oauth1.js';
import type { Rng } from './prng.js';
import { ApiError, conversationsById, searchConversations } from './search.js';
import type { ConversationStore } from './store.js';
import type { TokenIssuer } from './tokens.js';

export const SERVICES = [
  'msgHist',
  'engHistDomain',
  'accountConfigReadOnly',
  'accountConfigReadWrite',
  'agentVep',
  'sentinel',
  'swift',
  'fms',
  'asyncMessagingEnt',
  'facadeMsg',
  'messagingRestApiDomain',
  'rtbf',
  'liveEngageUI',
] as const;

export interface Faults {
  faultRate: number;
  latencyMs: number;
  partialPageRate: number;
  dropRate: number;
  indexLagMs: number;
}

export interface ServerState {
  accountId: string;
  clientId: string;
  clientSecret: string;
  bulkFileDownload: boolean;
  faults: Faults;
  faultRng: Rng;
  now(): number;
  store: ConversationStore;
  oauth1: OAuth1Verifier;
  tokens: TokenIssuer;
  bulk: BulkDownloads;
  calls: Map<string, number>;
}

type Endpoint =
  | 'search'
  | 'byId'
  | 'users'
  | 'files.create'
  | 'files.status'
  | 'files.list'
  | 'files.download';
type Auth = 'any' | 'bearer' | 'none';

interface Route {
  method: string;
  pattern: RegExp;
  endpoint: Endpoint | 'csds' | 'token';
  auth: Auth;
}

const ACCT = '([^/]+)';
const ROUTES: Route[] = [
  {
    method: 'GET',
    pattern: new RegExp(`^/api/account/${ACCT}/service/baseURI\\.json$`),
    endpoint: 'csds',
    auth: 'none',
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/account/${ACCT}/service/([^/]+)/baseURI\\.json$`),
    endpoint: 'csds',
    auth: 'none',
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/sentinel/api/v2/account/${ACCT}/app/token$`),
    endpoint: 'token',
    auth: 'none',
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/messaging_history/api/account/${ACCT}/conversations/search$`),
    endpoint: 'search',
    auth: 'any',
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/messaging_history/api/account/${ACCT}/conversations/conversation/search$`),
    endpoint: 'byId',
    auth: 'any',
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/account/${ACCT}/configuration/le-users/users$`),
    endpoint: 'users',
    auth: 'any',
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v1/account/${ACCT}/bulk-download-requests$`),
    endpoint: 'files.create',
    auth: 'bearer',
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/v1/account/${ACCT}/bulk-download-requests$`),
    endpoint: 'files.list',
    auth: 'bearer',
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/v1/account/${ACCT}/bulk-download-requests/([^/]+)$`),
    endpoint: 'files.status',
    auth: 'bearer',
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/v1/account/${ACCT}/bulk-download-requests/([^/]+)/archives/(\\d+)\\.zip$`),
    endpoint: 'files.download',
    auth: 'none',
  },
];

function count(state: ServerState, key: string): void {
  state.calls.set(key, (state.calls.get(key) ?? 0) + 1);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  // LivePerson's REST errors carry the status, a message and a timestamp; internalCode mimics 0007/0008.
  sendJson(
    res,
    status,
    { code: status, message, time: Date.now(), ...(status >= 500 ? { internalCode: '0008' } : {}) },
    headers,
  );
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 5 * 1024 * 1024) throw new ApiError(413, 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'Request body is not valid JSON');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createHandler(state: ServerState) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      await handle(state, req, res);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof ApiError) sendError(res, err.status, err.message, err.headers);
      else sendError(res, 500, `Internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
}

async function handle(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const host = req.headers.host ?? '127.0.0.1';
  const url = new URL(req.url ?? '/', `http://${host}`);
  const origin = `http://${host}`;
  const method = req.method ?? 'GET';
  const route = ROUTES.find((r) => r.method === method && r.pattern.test(url.pathname));
  const body = await readBody(req);
  if (state.faults.latencyMs > 0) await sleep(state.faults.latencyMs);
  if (!route) {
    count(state, 'unknown');
    if (ROUTES.some((r) => r.pattern.test(url.pathname))) {
      throw new ApiError(405, `Method ${method} not allowed on ${url.pathname}`);
    }
    throw new ApiError(404, `No such resource: ${method} ${url.pathname}`);
  }
  const m = route.pattern.exec(url.pathname)!;
  count(state, route.endpoint);
  if (m[1] !== state.accountId) {
    throw new ApiError(route.endpoint === 'csds' ? 404 : 403, `Account '${m[1]}' not found or not permitted`);
  }

  const hostile = state.bulk.hostile;
  const oversize = hostile.oversize.get(route.endpoint);
  if (oversize && oversize.count > 0) {
    oversize.count--;
    count(state, 'fault.oversize');
    return sendOversize(res, route.endpoint, oversize.bytes);
  }
  if (route.endpoint.startsWith('files.') && hostile.filesOutage > 0) {
    hostile.filesOutage--;
    count(state, 'fault.503');
    throw new ApiError(503, 'Service unavailable');
  }

  if (route.endpoint === 'csds') return csds(state, res, url, m[2], host);
  if (route.endpoint === 'token') return token(state, req, res, body);

  // Faults only on data endpoints: CSDS and Sentinel stay reliable so a client always gets started.
  const roll = state.faultRng();
  if (roll < state.faults.dropRate) {
    count(state, 'fault.drop');
    req.socket.destroy();
    return;
  }
  if (roll < state.faults.dropRate + state.faults.faultRate) {
    const kind = state.faultRng();
    if (kind < 0.5) {
      count(state, 'fault.429');
      const retryAfter: Record<string, string> = kind < 0.25 ? { 'retry-after': '1' } : {};
      throw new ApiError(429, 'Too many requests', retryAfter);
    }
    const status = kind < 0.75 ? 500 : 503;
    count(state, `fault.${status}`);
    throw new ApiError(status, status === 500 ? 'Elasticsearch exception' : 'Service unavailable');
  }

  if (route.auth !== 'none') authenticate(state, req, url, route.auth);

  switch (route.endpoint) {
    case 'search': {
      const result = searchConversations(
        { store: state.store, indexAsOf: state.now() - state.faults.indexLagMs, url },
        parseJson(body),
      );
      if (result.conversationHistoryRecords.length > 0 && state.faultRng() < state.faults.partialPageRate) {
        count(state, 'fault.partial');
        // Some shards did not answer: records are missing and the page says so.
        const keep = result.conversationHistoryRecords.filter(() => state.faultRng() < 0.6);
        result.conversationHistoryRecords =
          keep.length < result.conversationHistoryRecords.length ? keep : keep.slice(1);
        result._metadata.shardsStatusResult = { partialResult: true };
      }
      return sendJson(res, 200, result);
    }
    case 'byId': {
      const asked = parseJson(body) as { conversationId?: unknown; conversationIds?: unknown } | undefined;
      const named = [
        asked?.conversationId,
        ...(Array.isArray(asked?.conversationIds) ? asked.conversationIds : []),
      ];
      const refused = named.find((id) => typeof id === 'string' && hostile.refusedById.has(id));
      if (refused !== undefined) throw new ApiError(400, 'Invalid conversation id in request');
      return sendJson(
        res,
        200,
        conversationsById(
          { store: state.store, indexAsOf: state.now() - state.faults.indexLagMs, now: state.now(), url },
          asked,
        ),
      );
    }
    case 'users':
      return users(res, url);
    case 'files.create':
      requireBulk(state);
      return sendJson(res, 201, state.bulk.create(parseJson(body)));
    case 'files.list':
      requireBulk(state);
      return sendJson(res, 200, state.bulk.list(url.searchParams, origin));
    case 'files.status':
      requireBulk(state);
      return sendJson(res, 200, state.bulk.get(m[2]!, origin));
    case 'files.download': {
      requireBulk(state);
      const stream = state.bulk.archive(m[2]!, Number(m[3]), url.searchParams);
      res.writeHead(200, {
        'content-type': 'application/zip',
        'content-disposition': `attachment; filename="${m[2]}-${m[3]}.zip"`,
      });
      if (hostile.brokenTransfers > 0) {
        // A transfer that breaks off: a few KB, then the connection drops.
        hostile.brokenTransfers--;
        count(state, 'fault.broken-transfer');
        let sent = 0;
        stream.on('data', (chunk: Buffer) => {
          sent += chunk.length;
          if (sent > 4096) {
            stream.unpipe(res);
            res.destroy();
          }
        });
      }
      stream.pipe(res);
      return;
    }
  }
}

/**
 * A valid JSON answer of about `bytes` bytes, streamed (never held): what an answer far over any sane size
 * looks like to a client. No content-length, so only a client's own byte count can stop it.
 */
function sendOversize(res: ServerResponse, endpoint: string, bytes: number): void {
  const [head, tail] =
    endpoint === 'users'
      ? ['[{"id":"1","fullName":"', '"}]']
      : ['{"_metadata":{"count":0},"conversationHistoryRecords":[],"padding":"', '"}'];
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let left = Math.max(0, bytes - head.length - tail.length);
  res.write(head);
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end(tail);
  };
  res.on('close', () => {
    left = 0;
  });
  pump();
}

function requireBulk(state: ServerState): void {
  if (!state.bulkFileDownload) throw new ApiError(403, 'Bulk File Download is not enabled for this account');
}

function authenticate(state: ServerState, req: IncomingMessage, url: URL, auth: Auth): void {
  const header = req.headers.authorization ?? '';
  const unauthorized = (message: string) =>
    new ApiError(401, message, { 'www-authenticate': 'Bearer, OAuth' });
  if (/^Bearer\s+/i.test(header)) {
    const result = state.tokens.verify(header.replace(/^Bearer\s+/i, '').trim());
    if (!result.ok) throw unauthorized(`Invalid bearer token: ${result.reason}`);
    return;
  }
  if (/^OAuth\s+/i.test(header)) {
    if (auth === 'bearer') throw unauthorized('This API accepts only OAuth 2.0 (App JWT) bearer tokens');
    const result = state.oauth1.verify({ method: req.method ?? 'GET', url, authorization: header });
    if (!result.ok) throw unauthorized(`OAuth 1.0 verification failed: ${result.reason}`);
    return;
  }
  throw unauthorized('Missing Authorization header');
}

function csds(
  state: ServerState,
  res: ServerResponse,
  url: URL,
  service: string | undefined,
  host: string,
): void {
  if (url.searchParams.get('version') !== '1.0') throw new ApiError(400, "Parameter 'version' must be 1.0");
  const entry = (name: string) => ({ service: name, account: state.accountId, baseURI: host });
  if (service === undefined) {
    sendJson(res, 200, { baseURIs: SERVICES.map(entry) });
    return;
  }
  if (!(SERVICES as readonly string[]).includes(service)) {
    throw new ApiError(404, `Service '${service}' not found for account ${state.accountId}`);
  }
  sendJson(res, 200, entry(service));
}

function token(state: ServerState, req: IncomingMessage, res: ServerResponse, body: string): void {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new ApiError(400, 'Content-Type must be application/x-www-form-urlencoded');
  }
  const form = new URLSearchParams(body);
  if (form.get('grant_type') !== 'client_credentials') {
    sendJson(res, 400, {
      error: 'unsupported_grant_type',
      error_description: 'grant_type must be client_credentials',
    });
    return;
  }
  if (form.get('client_id') !== state.clientId || form.get('client_secret') !== state.clientSecret) {
    sendJson(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    return;
  }
  sendJson(res, 200, {
    access_token: state.tokens.issue('data.services.external.bulkfiledownload msghist.read users.external'),
    token_type: 'Bearer',
  });
}

function users(res: ServerResponse, url: URL): void {
  const q = url.searchParams;
  const v = q.get('v');
  if (!v) throw new ApiError(400, "Missing mandatory parameter 'v'");
  if (!['2.0', '4.0', '5.0', '6.0'].includes(v)) throw new ApiError(400, `Unsupported version v=${v}`);
  const includeDeleted = q.get('include_deleted') === 'true';
  const revision = 17;
  const list = USERS.filter((u) => includeDeleted || !u.deleted).map((u) => userEntity(u, revision));
  const select = q.get('select');
  const fields = select && select !== '$all' ? select.split(',').map((s) => s.trim()) : undefined;
  const body = fields
    ? list.map((e) => Object.fromEntries(fields.filter((f) => f in e).map((f) => [f, e[f]])))
    : list;
  sendJson(res, 200, body, { 'ac-revision': String(revision), etag: `"${revision}"` });
}
