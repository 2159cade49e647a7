/**
 * Which hosts may receive Graph credentials or archived content. Graph's tokens and the items themselves
 * (which are regulated records) go only to Microsoft's sign-in, Graph and Outlook upload hosts of the
 * public and national clouds, over https on the default port, or to hosts an operator lists explicitly
 * (GRAPH_ALLOWED_HOSTS: exact host:port, http allowed, for the local sandbox). Checked before a request
 * is made, so a mistyped setting or a hostile `uploadUrl` never sees a token or a byte of evidence.
 */

/** Microsoft identity platform (token) hosts. */
const SIGN_IN_HOSTS = [
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
];
/** Microsoft Graph hosts. */
const GRAPH_HOSTS = [
  'graph.microsoft.com',
  'graph.microsoft.us',
  'dod-graph.microsoft.us',
  'microsoftgraph.chinacloudapi.cn',
];
/** Hosts Graph hands out pre-authenticated attachment upload URLs on. */
const UPLOAD_HOSTS = [
  'outlook.office.com',
  'outlook.office365.com',
  'outlook.office365.us',
  'webmail.apps.mil',
  'partner.outlook.cn',
];

export type GraphHostKind = 'sign-in' | 'graph' | 'upload';

const KNOWN: Record<GraphHostKind, readonly string[]> = {
  'sign-in': SIGN_IN_HOSTS,
  graph: GRAPH_HOSTS,
  upload: UPLOAD_HOSTS,
};

export class DisallowedGraphHostError extends Error {
  constructor(what: string, reason: string) {
    super(`Refusing to contact ${what}: ${reason}`);
    this.name = 'DisallowedGraphHostError';
  }
}

/** True when `host` (lower-case, no port) is one of Microsoft's own for `kind`. */
export function isMicrosoftHost(host: string, kind: GraphHostKind): boolean {
  return KNOWN[kind].includes(host.toLowerCase().replace(/\.$/, ''));
}

/** Throws unless `url` may be contacted for `kind`; returns the parsed URL. `what` names the call. */
export function assertGraphUrl(
  url: string | URL,
  allowedHosts: readonly string[],
  kind: GraphHostKind,
  what: string,
): URL {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new DisallowedGraphHostError(what, 'not a valid URL');
  }
  if (u.username || u.password) throw new DisallowedGraphHostError(what, 'URL carries user info');
  const hostPort = u.host.toLowerCase();
  if (allowedHosts.includes(hostPort) && (u.protocol === 'https:' || u.protocol === 'http:')) return u;
  if (u.protocol !== 'https:') throw new DisallowedGraphHostError(what, `${u.protocol} is not https`);
  if (u.port !== '') throw new DisallowedGraphHostError(what, `host ${hostPort} uses a non-standard port`);
  if (!isMicrosoftHost(u.hostname, kind))
    throw new DisallowedGraphHostError(what, `host ${hostPort} is not a Microsoft ${kind} host`);
  return u;
}
