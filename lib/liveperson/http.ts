/**
 * The one place LivePerson HTTP calls go through: host check before any credential is attached, a
 * per-account concurrency cap, a timeout on every attempt, retries (429 → backoff ≥ base honouring
 * Retry-After; 5xx/network → LivePerson's 5/10/15 s schedule), one retry on 401 after a fresh token,
 * call counts per endpoint, and errors that name the call and status but never secrets.
 */
import { setTimeout as delay } from 'node:timers/promises';
import pLimit from 'p-limit';
import type { z } from 'zod';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { excerpt, LivePersonError, redact } from './errors.js';
import { assertAllowedUrl } from './host-policy.js';

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = async (ms, signal) => {
  if (ms > 0) await delay(ms, undefined, { signal });
};

export interface HttpSettings {
  allowedHosts: readonly string[];
  concurrency: number;
  timeoutMs: number;
  retryBaseMs: number;
  retryPausesMs: readonly number[];
  maxAttempts: number;
  /** The largest JSON answer read (bytes): anything longer is refused without reading it whole. */
  maxJsonBytes: number;
}

export interface HttpDeps {
  fetch?: typeof fetch;
  sleep?: Sleep;
  logger?: Logger;
  /** Secret values to scrub from every error message (credentials, current tokens). */
  secrets: () => Iterable<string | undefined>;
}

/** Auth headers for one attempt; `refresh` is called once after a 401 before the single retry. */
export interface RequestAuth {
  headers(method: string, url: URL): Promise<Record<string, string>>;
  refresh?(): void;
}

export interface HttpRequest {
  /** Endpoint name for callCounts (csds, token, search, byId, users, files.create, ...). */
  endpoint: string;
  /** Human description for errors, e.g. `msgHist search (offset 200)`. */
  describe: string;
  method: 'GET' | 'POST';
  url: URL;
  auth?: RequestAuth;
  json?: unknown;
  form?: Record<string, string>;
  signal?: AbortSignal;
  /** Overrides the configured per-attempt timeout (e.g. ZIP downloads, whose body takes longer). */
  timeoutMs?: number;
  /** Statuses handed back to the caller instead of failing (e.g. 403/404 for "feature not enabled"). */
  passStatuses?: readonly number[];
}

const RETRY_AFTER_CAP_MS = 120_000;
/** An error answer is read only this far: enough for LivePerson's message, never a flood. */
const ERROR_BODY_BYTES = 4096;

/**
 * Reads a response body up to `max` bytes. Returns the bytes and whether more followed; the rest is never
 * read (the stream is cancelled), so a huge or endless answer costs at most `max` bytes of memory.
 */
export async function readCapped(res: Response, max: number): Promise<{ bytes: Buffer; over: boolean }> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => {});
    return { bytes: Buffer.alloc(0), over: true };
  }
  if (!res.body) return { bytes: Buffer.alloc(0), over: false };
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: Buffer.concat(chunks, size), over: false };
      if (size + value.byteLength > max) {
        const room = max - size;
        if (room > 0) chunks.push(Buffer.from(value.buffer, value.byteOffset, room));
        await reader.cancel().catch(() => {});
        return { bytes: Buffer.concat(chunks, Math.max(0, max)), over: true };
      }
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      size += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
}

const mb = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;

function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  if (Number.isFinite(secs) && secs >= 0) return Math.min(secs * 1000, RETRY_AFTER_CAP_MS);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - now), RETRY_AFTER_CAP_MS);
}

export class HttpCore {
  private readonly limit;
  private readonly counts = new Map<string, number>();
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: Sleep;
  private readonly logger: Logger;

  constructor(
    private readonly settings: HttpSettings,
    private readonly deps: HttpDeps,
  ) {
    this.limit = pLimit(settings.concurrency);
    this.fetchImpl = deps.fetch ?? fetch;
    this.sleep = deps.sleep ?? realSleep;
    this.logger = deps.logger ?? silentLogger;
  }

  callCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  private scrub(text: string): string {
    return redact(text, this.deps.secrets());
  }

  /** Sends with retries; resolves with a response whose status is 2xx or in `passStatuses`. */
  async send(req: HttpRequest): Promise<Response> {
    // The host check comes before anything else: a refused host never sees a request, let alone a token.
    assertAllowedUrl(req.url, this.settings.allowedHosts, `LivePerson ${req.describe}`);
    let refreshedAfter401 = false;
    let serverErrors = 0;
    let throttles = 0;
    for (let attempt = 1; ; attempt++) {
      req.signal?.throwIfAborted();
      let res: Response | undefined;
      let failure: string | undefined;
      try {
        // Auth headers are made before taking a concurrency slot: a token request needs a slot of its own,
        // and waiting for it while holding one would deadlock at low concurrency.
        const authHeaders = req.auth ? await req.auth.headers(req.method, req.url) : {};
        res = await this.limit(() => this.attempt(req, authHeaders));
      } catch (err) {
        if (req.signal?.aborted) throw req.signal.reason;
        if (err instanceof LivePersonError) throw err;
        failure =
          err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')
            ? `timed out after ${req.timeoutMs ?? this.settings.timeoutMs} ms`
            : `network error (${this.scrub(err instanceof Error ? (err.cause as Error)?.message || err.message : String(err))})`;
      }
      if (res && (res.ok || req.passStatuses?.includes(res.status))) return res;

      const status = res?.status;
      const body = res ? this.scrub(excerpt(await errorText(res))) : '';
      const what = `LivePerson ${req.describe}`;
      if (status === 401 && req.auth?.refresh && !refreshedAfter401) {
        refreshedAfter401 = true;
        req.auth.refresh();
        this.logger.warn(`${what} answered 401; retrying once with a fresh token`);
        continue;
      }
      const retriable = status === undefined || status === 429 || status >= 500;
      if (!retriable) {
        throw new LivePersonError(`${what} answered ${status}: ${body || '(no body)'}`, req.endpoint, status);
      }
      if (attempt >= this.settings.maxAttempts) {
        const outcome = status === undefined ? failure : `answered ${status}: ${body || '(no body)'}`;
        throw new LivePersonError(
          `${what} failed after ${attempt} attempts; last ${outcome}`,
          req.endpoint,
          status,
          true,
        );
      }
      let pause: number;
      if (status === 429) {
        // LivePerson: retry a 429 after at least 1 s (the base), backing off exponentially with jitter.
        const backoff = this.settings.retryBaseMs * 2 ** throttles++;
        const jittered = backoff + Math.random() * backoff * 0.25;
        pause = Math.max(jittered, retryAfterMs(res!.headers.get('retry-after'), Date.now()) ?? 0);
      } else {
        const pauses = this.settings.retryPausesMs;
        pause = pauses[Math.min(serverErrors++, pauses.length - 1)] ?? 0;
      }
      this.logger.debug(`${what}: ${status ?? failure}; retry ${attempt} in ${Math.round(pause)} ms`);
      await this.sleep(pause, req.signal);
    }
  }

  private async attempt(req: HttpRequest, authHeaders: Record<string, string>): Promise<Response> {
    this.counts.set(req.endpoint, (this.counts.get(req.endpoint) ?? 0) + 1);
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: string | undefined;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    } else if (req.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form).toString();
    }
    Object.assign(headers, authHeaders);
    // The signal also bounds reading the body, which the caller does after this returns.
    const timeout = AbortSignal.timeout(req.timeoutMs ?? this.settings.timeoutMs);
    const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
    const res = await this.fetchImpl(req.url, {
      method: req.method,
      headers,
      body,
      signal,
      redirect: 'manual',
    });
    if (res.status >= 300 && res.status < 400) {
      // Never follow a redirect with credentials attached: it could lead anywhere.
      await res.body?.cancel();
      throw new LivePersonError(
        `LivePerson ${req.describe} answered a redirect (${res.status})`,
        req.endpoint,
        res.status,
      );
    }
    return res;
  }

  /** Sends and validates a JSON body with `schema`; the error names the call and the first bad field. */
  async json<S extends z.ZodType>(req: HttpRequest, schema: S): Promise<z.output<S>> {
    const res = await this.send(req);
    return this.parse(res, req, schema);
  }

  /**
   * Reads a JSON answer of at most `maxJsonBytes` and validates it with `schema`. An answer over the limit
   * is refused (`code: 'too-large'`, not transient) without being read whole.
   */
  async parse<S extends z.ZodType>(
    res: Response,
    req: Pick<HttpRequest, 'describe' | 'endpoint'>,
    schema: S,
  ): Promise<z.output<S>> {
    const { bytes, over } = await readCapped(res, this.settings.maxJsonBytes).catch((err: unknown) => {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) throw err;
      throw new LivePersonError(
        `LivePerson ${req.describe}: the answer broke off (${this.scrub(err instanceof Error ? err.message : String(err))})`,
        req.endpoint,
        res.status,
        true,
      );
    });
    if (over) {
      throw new LivePersonError(
        `LivePerson ${req.describe} answered more than ${mb(this.settings.maxJsonBytes)} of JSON (LP_MAX_JSON_MB); refused unread`,
        req.endpoint,
        res.status,
        false,
        'too-large',
      );
    }
    const text = bytes.toString('utf8');
    let data: unknown;
    try {
      data = text === '' && res.status === 204 ? undefined : JSON.parse(text);
    } catch {
      throw new LivePersonError(
        `LivePerson ${req.describe} answered ${res.status} with a body that is not JSON: ${this.scrub(excerpt(text.slice(0, 1000), 120))}`,
        req.endpoint,
        res.status,
      );
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue?.path.length ? issue.path.join('.') : '(root)';
      throw new LivePersonError(
        `LivePerson ${req.describe} answered an unexpected shape at ${path}: ${issue?.message ?? 'invalid'}`,
        req.endpoint,
        res.status,
      );
    }
    return parsed.data;
  }
}

/** The first few KB of an error answer, as text (the rest is not read). */
async function errorText(res: Response): Promise<string> {
  try {
    const { bytes } = await readCapped(res, ERROR_BODY_BYTES);
    return bytes.toString('utf8');
  } catch {
    return '';
  }
}
