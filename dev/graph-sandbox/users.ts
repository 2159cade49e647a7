/**
 * GET /users/{id | userPrincipalName} and GET /users?$filter=… (directory lookups).
 */
import { GraphError } from './errors.js';
import type { Reply } from './http.js';
import { allowOnly, parseSelect, parseTop, parseUsersFilter, type UserPredicate } from './odata.js';
import type { Ctx, SandboxState } from './state.js';
import { type DirectoryUser, userJson, userSelection } from './tenant.js';

/** A user by object id or UPN (both case-insensitive), as Graph resolves `/users/{key}`. */
export function findUser(state: SandboxState, key: string): DirectoryUser | undefined {
  const k = key.toLowerCase();
  return state.userById.get(k) ?? state.userByUpn.get(k);
}

function matches(u: DirectoryUser, p: UserPredicate): boolean {
  const v = p.value.toLowerCase();
  if (p.property === 'mail') return u.mail?.toLowerCase() === v;
  if (p.property === 'userPrincipalName') return u.userPrincipalName.toLowerCase() === v;
  return u.proxyAddresses.some((a) => a.toLowerCase() === v);
}

export function getUser(ctx: Ctx, key: string): Reply {
  allowOnly(ctx.url.searchParams, ['$select'], ['$expand']);
  const u = findUser(ctx.state, key);
  if (!u) {
    throw new GraphError(
      404,
      'Request_ResourceNotFound',
      `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`,
    );
  }
  const props = userSelection(parseSelect(ctx.url.searchParams.get('$select')));
  return {
    status: 200,
    json: {
      '@odata.context': `${ctx.state.baseUrl}/${ctx.version}/$metadata#users/$entity`,
      ...userJson(u, props),
    },
  };
}

export function listUsers(ctx: Ctx): Reply {
  const q = ctx.url.searchParams;
  const eventual = (ctx.req.headers.consistencylevel ?? '').toString().toLowerCase() === 'eventual';
  if (q.has('$search') && !eventual) {
    throw new GraphError(
      400,
      'Request_UnsupportedQuery',
      "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
    );
  }
  if (q.has('$orderby') && q.has('$filter') && !eventual) {
    throw new GraphError(400, 'Request_UnsupportedQuery', 'Sorting not supported for current query.');
  }
  allowOnly(q, ['$filter', '$select', '$top', '$count', '$skiptoken'], ['$search', '$orderby', '$expand']);
  const filterText = q.get('$filter');
  const predicates = filterText === null ? undefined : parseUsersFilter(filterText);
  const props = userSelection(parseSelect(q.get('$select')));
  const top = parseTop(q.get('$top'), 999, 100);
  const skip = q.has('$skiptoken') ? decodeSkipToken(q.get('$skiptoken')!) : 0;
  const all = ctx.state.users.filter((u) => !predicates || predicates.some((p) => matches(u, p)));
  const page = all.slice(skip, skip + top);
  const body: Record<string, unknown> = {
    '@odata.context': `${ctx.state.baseUrl}/${ctx.version}/$metadata#users`,
  };
  // $count=true without ConsistencyLevel: eventual is silently ignored, as Entra does.
  if (eventual && q.get('$count') === 'true') body['@odata.count'] = all.length;
  if (skip + top < all.length) {
    const next = new URL(ctx.url.href);
    next.searchParams.set('$skiptoken', Buffer.from(`skip:${skip + top}`).toString('base64url'));
    body['@odata.nextLink'] = next.href;
  }
  body.value = page.map((u) => userJson(u, props));
  return { status: 200, json: body };
}

function decodeSkipToken(token: string): number {
  const m = /^skip:(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) throw new GraphError(400, 'Request_BadRequest', 'Invalid $skiptoken.');
  return Number(m[1]);
}
