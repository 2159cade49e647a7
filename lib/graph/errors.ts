/** Errors of the Graph client. Messages name the call, status and Graph error code; never a token. */

export class GraphError extends Error {
  constructor(
    message: string,
    readonly endpoint: string,
    readonly status?: number,
    /** Graph's `error.code`, e.g. ErrorFolderExists, MailboxNotEnabledForRESTAPI. */
    readonly code?: string,
    /** True when a later attempt may succeed (throttling, 5xx, network). */
    readonly transient = false,
  ) {
    super(message);
    this.name = 'GraphError';
  }
}

/**
 * Graph throttled (429/503) with a Retry-After longer than is worth waiting inside one invocation: the
 * caller hands the work back to its queue to come again after `retryAfterMs`.
 */
export class GraphThrottledError extends GraphError {
  constructor(
    message: string,
    endpoint: string,
    status: number,
    readonly retryAfterMs: number,
  ) {
    super(message, endpoint, status, 'Throttled', true);
    this.name = 'GraphThrottledError';
  }
}

/**
 * A request that creates something (an import, a message, an attachment) failed in a way that does not
 * say whether Graph acted on it (connection dropped after the body was sent, 500/502/504, timeout). It is
 * never blindly re-sent: the caller first looks the item up by its Message-ID.
 */
export class GraphUncertainError extends GraphError {
  constructor(message: string, endpoint: string, status?: number) {
    super(message, endpoint, status, 'Uncertain', true);
    this.name = 'GraphUncertainError';
  }
}

/** Replaces bearer tokens, upload-URL tokens and known secrets in a text with `***`. */
export function redactGraph(text: string, secrets: Iterable<string | undefined> = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('***');
  return out
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1***')
    .replace(/((?:authtoken|access_token|client_secret|client_assertion|sig|token)=)[^&\s"']+/gi, '$1***')
    .replace(/("(?:access_token|client_secret|uploadUrl)"\s*:\s*")[^"]+/gi, '$1***');
}

/** A short, single-line excerpt of a response body. */
export function excerpt(body: string, max = 300): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
