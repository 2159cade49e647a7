/**
 * Which hosts may receive LivePerson credentials (and which may serve file downloads at all). A domain
 * comes from CSDS at run time, so a poisoned or mistyped answer must never get a token: only https hosts
 * under `liveperson.net` (suffix match on a dot boundary, default port, no userinfo) or hosts listed in
 * LP_ALLOWED_HOSTS (exact host:port; http allowed, for the local sandbox) pass.
 */
const LIVEPERSON_SUFFIX = '.liveperson.net';

export class DisallowedHostError extends Error {
  constructor(what: string, reason: string) {
    super(`Refusing to contact ${what}: ${reason}`);
    this.name = 'DisallowedHostError';
  }
}

/** Throws unless `url` may be contacted; returns the parsed URL. `what` names the call in the error. */
export function assertAllowedUrl(url: string | URL, allowedHosts: readonly string[], what: string): URL {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new DisallowedHostError(what, 'not a valid URL');
  }
  if (u.username || u.password) throw new DisallowedHostError(what, 'URL carries user info');
  const hostPort = u.host.toLowerCase(); // includes a non-default port
  if (allowedHosts.includes(hostPort) && (u.protocol === 'https:' || u.protocol === 'http:')) return u;
  if (u.protocol !== 'https:') throw new DisallowedHostError(what, `${u.protocol} is not https`);
  if (u.port !== '') throw new DisallowedHostError(what, `host ${hostPort} uses a non-standard port`);
  const host = u.hostname.toLowerCase().replace(/\.$/, '');
  const label = host.slice(0, host.length - LIVEPERSON_SUFFIX.length);
  if (
    !host.endsWith(LIVEPERSON_SUFFIX) ||
    !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(label) ||
    label.includes('..')
  ) {
    throw new DisallowedHostError(what, `host ${hostPort} is not a LivePerson host (*.liveperson.net)`);
  }
  return u;
}

/**
 * The base URL of a CSDS `baseURI` answer (a bare host such as `va.msghist.liveperson.net`, or a full
 * origin): https unless the host is allow-listed and the CSDS itself was reached over http (the sandbox).
 */
export function baseUrlOf(
  baseURI: string,
  allowedHosts: readonly string[],
  csdsProtocol: string,
  service: string,
): URL {
  const trimmed = baseURI.trim();
  const what = `the '${service}' domain from CSDS (${JSON.stringify(trimmed.slice(0, 100))})`;
  let u: URL;
  if (/^https?:\/\//i.test(trimmed)) {
    u = assertAllowedUrl(trimmed, allowedHosts, what);
  } else {
    // A bare answer must be exactly host[:port]: no path, userinfo or other tricks to re-interpret.
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(trimmed))
      throw new DisallowedHostError(what, 'not a bare host name');
    const scheme =
      allowedHosts.includes(trimmed.toLowerCase()) && csdsProtocol === 'http:' ? 'http' : 'https';
    u = assertAllowedUrl(`${scheme}://${trimmed}`, allowedHosts, what);
  }
  if (u.pathname !== '/' || u.search || u.hash)
    throw new DisallowedHostError(what, 'carries a path or query');
  return new URL(u.origin);
}
