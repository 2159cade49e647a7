/**
 * The sandbox's HTTPS front: routes Graph (/v1.0, /beta), identity (/{tenant}/…) and upload-URL requests;
 * applies, in order, the 4 MB request cap, injected faults, bearer-token and permission checks, user and
 * mailbox resolution, Outlook's per-mailbox limits, latency, the bounded body read, then the handler.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphError, graphErrorBody, type RequestIds, tooLarge } from './errors.js';
import { declaredLength, MAX_REQUEST_BYTES, type Reply, readBody, send } from './http.js';
import {
  createAttachment,
  createChildFolder,
  createMessage,
  getFolder,
  getMessage,
  getMessageValue,
  importMime,
  listAttachments,
  listChildFolders,
  listMessages,
  listTopFolders,
} from './mail.js';
import { bump, type Ctx, type SandboxState } from './state.js';
import { ThrottledError, type Ticket } from './throttle.js';
import { applyRange, checkRange, createUploadSession, sessionFor, UPLOAD_PATH_PREFIX } from './uploads.js';
import { findUser, getUser, listUsers } from './users.js';

const USER_READ = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const MAIL_READ_BASIC = ['Mail.ReadBasic.All', 'Mail.Read', 'Mail.ReadWrite'];
const MAIL_READ = ['Mail.Read', 'Mail.ReadWrite'];
const MAIL_WRITE = ['Mail.ReadWrite'];
const MAIL_IMPORT = ['Mail-Advanced.ReadWrite.All'];

/** Endpoints whose success stores something (commitThenDrop applies). */
const COMMITTING = new Set([
  'folders.create',
  'messages.create',
  'importMime',
  'attachments.create',
  'uploadSession.put',
]);

interface Route {
  endpoint: string;
  permissions: readonly string[];
  /** 'directory' → /users/{key} is a directory lookup; 'mailbox' → it must have a mailbox. */
  user?: { key: string; kind: 'directory' | 'mailbox' };
  body: boolean;
  handle(ctx: Ctx): Reply | Promise<Reply>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createHandler(state: SandboxState) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = randomUUID();
    const clientHeader = req.headers['client-request-id'];
    const ids: RequestIds = {
      requestId,
      clientRequestId: typeof clientHeader === 'string' && clientHeader ? clientHeader : requestId,
    };
    res.setHeader('request-id', ids.requestId);
    res.setHeader('client-request-id', ids.clientRequestId);
    handle(state, req, res, ids).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const e =
        err instanceof GraphError
          ? err
          : new GraphError(
              500,
              'InternalServerError',
              `Graph sandbox error: ${err instanceof Error ? err.message : String(err)}`,
            );
      if (!(err instanceof GraphError))
        process.stderr.write(
          `graph-sandbox: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
        );
      reply(state, res, {
        status: e.status,
        json: graphErrorBody(ids, e.code, e.message, e.extra),
        headers: e.headers,
      });
    });
  };
}

function reply(state: SandboxState, res: ServerResponse, r: Reply): void {
  bump(state.counters, `status.${r.status}`);
  send(res, r);
}

function drop(state: SandboxState, req: IncomingMessage, key: string): void {
  bump(state.counters, key);
  req.socket.destroy();
}

async function handle(
  state: SandboxState,
  req: IncomingMessage,
  res: ServerResponse,
  ids: RequestIds,
): Promise<void> {
  const url = new URL(req.url ?? '/', state.baseUrl);
  const method = req.method ?? 'GET';
  if (url.pathname.startsWith(UPLOAD_PATH_PREFIX)) return upload(state, req, res, ids, url, method);
  const first = url.pathname.split('/')[1] ?? '';
  if (first === 'v1.0' || first === 'beta') return graph(state, req, res, ids, url, method, first);
  return identity(state, req, res, url, method);
}

/** Injected faults: drop, 429 or 503 by one seeded draw; true when the request was dropped. */
function injectFault(state: SandboxState, req: IncomingMessage): boolean {
  const f = state.faults;
  const r = state.faultRng();
  if (r < f.dropRate) {
    drop(state, req, 'fault.drop');
    return true;
  }
  const retry = { 'retry-after': String(f.retryAfterSeconds) };
  if (r < f.dropRate + f.rate429) {
    bump(state.counters, 'fault.429');
    throw new GraphError(429, 'TooManyRequests', 'Too many requests.', retry);
  }
  if (r < f.dropRate + f.rate429 + f.rate503) {
    bump(state.counters, 'fault.503');
    throw new GraphError(503, 'ServiceUnavailable', 'The service is temporarily unavailable.', retry);
  }
  return false;
}

/** Sends the handler's reply, or drops the connection after a successful store when commitThenDrop fires. */
function finish(
  state: SandboxState,
  req: IncomingMessage,
  res: ServerResponse,
  endpoint: string,
  r: Reply,
): void {
  if (COMMITTING.has(endpoint) && r.committed && r.status < 300) {
    if (state.faults.commitThenDropFirst > 0 || state.faultRng() < state.faults.commitThenDropRate) {
      if (state.faults.commitThenDropFirst > 0) state.faults.commitThenDropFirst--;
      drop(state, req, 'fault.commitThenDrop');
      return;
    }
  }
  reply(state, res, r);
}

async function graph(
  state: SandboxState,
  req: IncomingMessage,
  res: ServerResponse,
  ids: RequestIds,
  url: URL,
  method: string,
  version: 'v1.0' | 'beta',
): Promise<void> {
  let segs: string[];
  try {
    segs = url.pathname.split('/').slice(2).map(decodeURIComponent);
  } catch {
    throw new GraphError(400, 'BadRequest', 'The request URL is not valid.');
  }
  if (segs[segs.length - 1] === '') segs.pop();
  const route = resolve(method, version, segs);
  bump(state.calls, route.endpoint);
  const declared = declaredLength(req);
  if (declared !== undefined && declared > MAX_REQUEST_BYTES) {
    bump(state.counters, 'limit.413');
    throw tooLarge();
  }
  if (injectFault(state, req)) return;
  const roles = state.identity.authorize(req.headers.authorization);
  if (!route.permissions.some((p) => roles.has(p))) {
    if (route.endpoint.startsWith('users.')) {
      throw new GraphError(
        403,
        'Authorization_RequestDenied',
        'Insufficient privileges to complete the operation.',
      );
    }
    throw new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
  }
  const ctx: Ctx = { state, req, ids, url, version, segs };
  let ticket: Ticket | undefined;
  try {
    if (route.user?.kind === 'mailbox') {
      const user = findUser(state, route.user.key);
      if (!user)
        throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${route.user.key}' is invalid.`);
      const store = state.mailboxes.get(user.id);
      if (!user.hasMailbox || !store) {
        throw new GraphError(
          404,
          'MailboxNotEnabledForRESTAPI',
          'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
        );
      }
      ctx.user = user;
      ctx.store = store;
      ticket = admit(state, user.id, method, declared);
    }
    if (state.faults.latencyMs > 0) await sleep(state.faults.latencyMs);
    if (route.body) {
      ctx.body = await readBody(req, MAX_REQUEST_BYTES).catch((e: unknown) => {
        if (e instanceof GraphError && e.status === 413) bump(state.counters, 'limit.413');
        throw e;
      });
      if (declared === undefined) ticket?.addUpload(ctx.body.length);
    }
    finish(state, req, res, route.endpoint, await route.handle(ctx));
  } finally {
    ticket?.release();
  }
}

function admit(state: SandboxState, userId: string, method: string, declared: number | undefined): Ticket {
  const upload = method === 'POST' || method === 'PUT' || method === 'PATCH' ? (declared ?? 0) : 0;
  try {
    return state.throttle.admit(userId, upload);
  } catch (e) {
    if (e instanceof ThrottledError) bump(state.counters, `limit.429.${e.kind}`);
    throw e;
  }
}

const unknownSegment = (seg: string) =>
  new GraphError(400, 'BadRequest', `Resource not found for the segment '${seg}'.`);

function resolve(method: string, version: 'v1.0' | 'beta', segs: string[]): Route {
  const [root, key, coll, ...rest] = segs;
  if (root !== 'users') throw unknownSegment(root ?? '');
  const allow = (routes: Record<string, Route>): Route => {
    const r = routes[method];
    if (!r)
      throw new GraphError(
        405,
        'MethodNotAllowed',
        `The HTTP method '${method}' is not allowed on this resource.`,
      );
    return r;
  };
  if (key === undefined) {
    return allow({ GET: { endpoint: 'users.list', permissions: USER_READ, body: false, handle: listUsers } });
  }
  if (coll === undefined) {
    return allow({
      GET: {
        endpoint: 'users.get',
        permissions: USER_READ,
        user: { key, kind: 'directory' },
        body: false,
        handle: (c) => getUser(c, key),
      },
    });
  }
  const mailbox = { key, kind: 'mailbox' as const };
  if (coll === 'mailFolders') {
    const [folder, sub, ...tail] = rest;
    if (folder === undefined) {
      return allow({
        GET: {
          endpoint: 'folders.list',
          permissions: MAIL_READ_BASIC,
          user: mailbox,
          body: false,
          handle: listTopFolders,
        },
      });
    }
    if (sub === undefined) {
      return allow({
        GET: {
          endpoint: 'folders.get',
          permissions: MAIL_READ_BASIC,
          user: mailbox,
          body: false,
          handle: (c) => getFolder(c, folder),
        },
      });
    }
    if (sub === 'childFolders' && tail.length === 0) {
      return allow({
        GET: {
          endpoint: 'folders.list',
          permissions: MAIL_READ_BASIC,
          user: mailbox,
          body: false,
          handle: (c) => listChildFolders(c, folder),
        },
        POST: {
          endpoint: 'folders.create',
          permissions: MAIL_WRITE,
          user: mailbox,
          body: true,
          handle: (c) => createChildFolder(c, folder),
        },
      });
    }
    if (sub === 'importMime' && tail.length === 0) {
      // A beta action: v1.0 has no such segment.
      if (version !== 'beta') throw unknownSegment('importMime');
      return allow({
        POST: {
          endpoint: 'importMime',
          permissions: MAIL_IMPORT,
          user: mailbox,
          body: true,
          handle: (c) => importMime(c, folder),
        },
      });
    }
    if (sub === 'messages') return messageRoutes(mailbox, folder, tail, allow);
    throw unknownSegment(sub);
  }
  if (coll === 'messages') return messageRoutes(mailbox, undefined, rest, allow);
  throw unknownSegment(coll);
}

function messageRoutes(
  mailbox: { key: string; kind: 'mailbox' },
  folder: string | undefined,
  tail: string[],
  allow: (routes: Record<string, Route>) => Route,
): Route {
  const [id, sub, action, ...more] = tail;
  if (id === undefined) {
    return allow({
      GET: {
        endpoint: 'messages.list',
        permissions: MAIL_READ_BASIC,
        user: mailbox,
        body: false,
        handle: (c) => listMessages(c, folder),
      },
      POST: {
        endpoint: 'messages.create',
        permissions: MAIL_WRITE,
        user: mailbox,
        body: true,
        handle: (c) => createMessage(c, folder),
      },
    });
  }
  if (sub === undefined) {
    return allow({
      GET: {
        endpoint: 'messages.get',
        permissions: MAIL_READ,
        user: mailbox,
        body: false,
        handle: (c) => getMessage(c, id, folder),
      },
    });
  }
  if (sub === '$value' && action === undefined) {
    return allow({
      GET: {
        endpoint: 'messages.value',
        permissions: MAIL_READ,
        user: mailbox,
        body: false,
        handle: (c) => getMessageValue(c, id, folder),
      },
    });
  }
  if (sub === 'attachments' && action === undefined) {
    return allow({
      GET: {
        endpoint: 'attachments.list',
        permissions: MAIL_READ,
        user: mailbox,
        body: false,
        handle: (c) => listAttachments(c, id, folder),
      },
      POST: {
        endpoint: 'attachments.create',
        permissions: MAIL_WRITE,
        user: mailbox,
        body: true,
        handle: (c) => createAttachment(c, id, folder),
      },
    });
  }
  if (
    sub === 'attachments' &&
    (action === 'createUploadSession' || action === 'microsoft.graph.createUploadSession') &&
    more.length === 0
  ) {
    return allow({
      POST: {
        endpoint: 'uploadSession.create',
        permissions: MAIL_WRITE,
        user: mailbox,
        body: true,
        handle: (c) => createUploadSession(c, id, folder),
      },
    });
  }
  throw unknownSegment(action ?? sub);
}

/** PUT (or DELETE) on a pre-authenticated upload URL; counted against the message's mailbox. */
async function upload(
  state: SandboxState,
  req: IncomingMessage,
  res: ServerResponse,
  ids: RequestIds,
  url: URL,
  method: string,
): Promise<void> {
  const endpoint = method === 'DELETE' ? 'uploadSession.delete' : 'uploadSession.put';
  bump(state.calls, endpoint);
  if (method !== 'PUT' && method !== 'DELETE') {
    throw new GraphError(
      405,
      'MethodNotAllowed',
      `The HTTP method '${method}' is not allowed on an upload URL.`,
    );
  }
  const declared = declaredLength(req);
  if (declared !== undefined && declared > MAX_REQUEST_BYTES) {
    bump(state.counters, 'limit.413');
    throw tooLarge();
  }
  if (injectFault(state, req)) return;
  const session = sessionFor(state, req, url);
  const user = state.userById.get(session.userId)!;
  const ctx: Ctx = {
    state,
    req,
    ids,
    url,
    version: 'v1.0',
    segs: [],
    user,
    store: state.mailboxes.get(user.id)!,
  };
  if (method === 'DELETE') {
    state.uploads.delete(session.token);
    reply(state, res, { status: 204 });
    return;
  }
  const range = (() => {
    try {
      return checkRange(req, session);
    } catch (e) {
      if (e instanceof GraphError && e.status === 413) bump(state.counters, 'limit.413');
      throw e;
    }
  })();
  const ticket = admit(state, user.id, method, declared);
  try {
    if (state.faults.latencyMs > 0) await sleep(state.faults.latencyMs);
    const bytes = await readBody(req, range.length);
    if (bytes.length !== range.length) {
      throw new GraphError(
        400,
        'ErrorInvalidContentRange',
        `Received ${bytes.length} bytes for a range of ${range.length}.`,
      );
    }
    finish(state, req, res, endpoint, await applyRange(ctx, session, bytes));
  } finally {
    ticket.release();
  }
}

/** /{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/oauth2/v2.0/token, /{tenant}/discovery/v2.0/keys. */
async function identity(
  state: SandboxState,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  method: string,
): Promise<void> {
  const [tenant = '', ...rest] = url.pathname.split('/').slice(1);
  const path = rest.join('/');
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    reply(state, res, {
      status,
      json: body,
      contentType: 'application/json; charset=utf-8',
      headers: { 'cache-control': 'no-store, no-cache', ...headers },
    });
  const endpoint =
    path === 'oauth2/v2.0/token'
      ? 'token'
      : path === 'v2.0/.well-known/openid-configuration'
        ? 'openid'
        : path === 'discovery/v2.0/keys'
          ? 'keys'
          : 'unknown';
  bump(state.calls, endpoint);
  if (state.faultsOnToken && endpoint !== 'unknown') {
    try {
      if (injectFault(state, req)) return;
    } catch (e) {
      const g = e as GraphError;
      json(g.status, { error: 'temporarily_unavailable', error_description: g.message }, g.headers);
      return;
    }
    if (state.faults.latencyMs > 0) await sleep(state.faults.latencyMs);
  }
  if (
    endpoint === 'unknown' ||
    (endpoint === 'token') !== (method === 'POST') ||
    (endpoint !== 'token' && method !== 'GET')
  ) {
    json(404, { error: 'not_found', error_description: `No such endpoint: ${method} ${url.pathname}` });
    return;
  }
  if (!state.identity.knowsTenant(tenant)) {
    json(400, {
      error: 'invalid_tenant',
      error_description: `AADSTS90002: Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      error_codes: [90002],
    });
    return;
  }
  if (endpoint === 'openid') return json(200, state.identity.openidConfiguration());
  if (endpoint === 'keys') return json(200, state.identity.jwks);
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    json(400, {
      error: 'invalid_request',
      error_description: 'AADSTS900144: The request body must be application/x-www-form-urlencoded.',
    });
    return;
  }
  const form = new URLSearchParams((await readBody(req, 64 * 1024)).toString('utf8'));
  const answer = await state.identity.token(tenant, form);
  json(answer.status, answer.body);
}
