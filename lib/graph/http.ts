/**
 * The one place Microsoft Graph HTTP calls go through. Plain `node:https` rather than fetch or the Graph
 * SDK: bodies stream both ways (a 60 MB item is never held in memory), a private CA can be trusted for
 * the local sandbox without touching process-wide TLS settings, and every answer is read with a byte cap.
 * See lib/graph/README.md for why not @microsoft/microsoft-graph-client.
 *
 * Per call: the host check before anything is sent; a bearer token (never to upload URLs, which are
 * pre-authenticated); the per-mailbox limiter; a timeout; retries. 429/503 are retried (honouring
 * Retry-After; one longer than `maxInlineRetryAfterMs` becomes GraphThrottledError so the caller can
 * requeue); 500/502/504, timeouts and dropped connections are retried only for idempotent calls, and
 * raise GraphUncertainError for creates, which the caller resolves by looking the item up.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { z } from 'zod';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { excerpt, GraphError, GraphThrottledError, GraphUncertainError, redactGraph } from './errors.js';
import { assertGraphUrl, type GraphHostKind } from './hosts.js';
import { MailboxBudgetWait, type MailboxLimiter } from './mailbox-limiter.js';

export interface GraphHttpSettings {
  allowedHosts: readonly string[];
  timeoutMs: number;
  maxAttempts: number;
  /** A Retry-After up to this long is waited out in place; a longer one is the caller's to reschedule. */
  maxInlineRetryAfterMs: number;
  /** Cap on any response body Graph sends (its JSON answers are small). */
  maxResponseBytes: number;
}

export interface TokenProvider {
  token(): Promise<string>;
  invalidate(): void;
}

export interface GraphHttpDeps {
  tokens?: TokenProvider;
  limiter?: MailboxLimiter;
  /** PEM of an extra CA to trust (the local Graph sandbox); production leaves it unset. */
  ca?: string | Buffer;
  logger?: Logger;
  sleep?: (ms: number) => Promise<unknown>;
  /** Observes each attempt's outcome (telemetry). */
  onAttempt?: (endpoint: string, outcome: 'ok' | 'throttled' | 'error', status?: number) => void;
}

export type GraphBody =
  | { kind: 'json'; value: unknown }
  | { kind: 'bytes'; contentType: string; bytes: Buffer }
  /** A body streamed from `open()` (called again for each attempt), of exactly `length` bytes. */
  | { kind: 'stream'; contentType: string; length: number; open: () => Readable | Promise<Readable> };

export interface GraphCall {
  /** Name for call counts and errors: users.get, folders.create, importMime, uploadSession.put, ... */
  endpoint: string;
  describe: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  url: URL;
  /** Which kind of Microsoft host the URL must be (graph, or a pre-authenticated upload host). */
  host: GraphHostKind;
  /** Attach the bearer token (never for upload URLs). */
  auth: boolean;
  body?: GraphBody;
  headers?: Record<string, string>;
  /** The mailbox (user id or address) the call acts on: its per-mailbox limits apply. */
  mailbox?: string;
  /** Safe to send again after an unclear failure (GET; PUT of a byte range). */
  idempotent: boolean;
  /** Statuses returned to the caller instead of failing (e.g. 404 lookups, 409 folder exists). */
  passStatuses?: readonly number[];
  timeoutMs?: number;
}

export interface GraphResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const RETRY_AFTER_CAP_MS = 10 * 60_000;

export function retryAfterMs(header: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return Math.min(secs * 1000, RETRY_AFTER_CAP_MS);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - now), RETRY_AFTER_CAP_MS);
}

/** Graph's error body: { error: { code, message } }. */
function graphErrorOf(body: Buffer): { code?: string; message?: string } {
  try {
    const e = JSON.parse(body.toString('utf8'))?.error;
    return {
      code: typeof e?.code === 'string' ? e.code : undefined,
      message: typeof e?.message === 'string' ? e.message : undefined,
    };
  } catch {
    return {};
  }
}

class AttemptFailure extends Error {
  constructor(
    message: string,
    /** True once any byte of the body may have reached the server. */
    readonly sent: boolean,
  ) {
    super(message);
  }
}

export class GraphHttp {
  private readonly counts = new Map<string, number>();
  private readonly httpsAgent: https.Agent;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly logger: Logger;
  private readonly sleep: (ms: number) => Promise<unknown>;

  constructor(
    private readonly settings: GraphHttpSettings,
    private readonly deps: GraphHttpDeps = {},
  ) {
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: 64,
      ...(deps.ca ? { ca: deps.ca } : {}),
    });
    this.logger = deps.logger ?? silentLogger;
    this.sleep = deps.sleep ?? ((ms) => delay(ms));
  }

  callCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  private count(key: string) {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }

  /** Sends with retries; resolves with a 2xx response or one whose status is in `passStatuses`. */
  async send(call: GraphCall): Promise<GraphResponse> {
    assertGraphUrl(call.url, this.settings.allowedHosts, call.host, `Graph ${call.describe}`);
    if (call.auth && call.host === 'upload')
      throw new GraphError(
        `Graph ${call.describe}: refusing to send a token to an upload URL`,
        call.endpoint,
      );
    // JSON bodies are serialised once: their size counts against the mailbox's upload budget too.
    if (call.body?.kind === 'json')
      call = {
        ...call,
        body: {
          kind: 'bytes',
          contentType: 'application/json',
          bytes: Buffer.from(JSON.stringify(call.body.value), 'utf8'),
        },
      };
    let refreshed = false;
    let backoff = 500;
    for (let attempt = 1; ; attempt++) {
      let res: GraphResponse | undefined;
      let failure: AttemptFailure | undefined;
      try {
        const token = call.auth ? await this.token() : undefined;
        const upload = call.body ? bodyLength(call.body) : 0;
        const exec = () => this.attempt(call, token);
        res =
          call.mailbox && this.deps.limiter
            ? await this.deps.limiter.run(call.mailbox, upload, exec, this.settings.maxInlineRetryAfterMs)
            : await exec();
      } catch (err) {
        if (err instanceof GraphError) throw err;
        // The mailbox's own budget is spent for longer than is worth waiting here: hand the work back.
        if (err instanceof MailboxBudgetWait)
          throw new GraphThrottledError(
            `Graph ${call.describe}: ${err.message}`,
            call.endpoint,
            429,
            err.waitMs,
          );
        failure = err instanceof AttemptFailure ? err : new AttemptFailure(String(err), true);
      }
      const what = `Graph ${call.describe}`;
      if (res && ((res.status >= 200 && res.status < 300) || call.passStatuses?.includes(res.status))) {
        this.deps.onAttempt?.(call.endpoint, 'ok', res.status);
        return res;
      }
      const status = res?.status;
      const gerr = res ? graphErrorOf(res.body) : {};
      const detail = res
        ? `answered ${status}${gerr.code ? ` ${gerr.code}` : ''}: ${redactGraph(excerpt(gerr.message ?? res.body.toString('utf8')))}`
        : redactGraph(failure!.message);
      const throttled = status === 429 || status === 503;
      this.deps.onAttempt?.(call.endpoint, throttled ? 'throttled' : 'error', status);
      if (throttled) this.count(`throttled.${call.endpoint}`);
      if (status === 401 && call.auth && !refreshed) {
        refreshed = true;
        this.deps.tokens?.invalidate();
        this.logger.warn(`${what} answered 401; retrying once with a fresh token`);
        continue;
      }
      if (res && !throttled && status! < 500) {
        throw new GraphError(`${what} ${detail}`, call.endpoint, status, gerr.code, false);
      }
      // Throttled, 5xx, or no answer at all.
      const unclear = !throttled && (res !== undefined || failure?.sent !== false);
      if (unclear && !call.idempotent) {
        throw new GraphUncertainError(`${what}: outcome unknown (${detail})`, call.endpoint, status);
      }
      const wait = throttled ? retryAfterMs(res?.headers['retry-after'], Date.now()) : undefined;
      if (throttled && wait !== undefined && wait > this.settings.maxInlineRetryAfterMs) {
        throw new GraphThrottledError(
          `${what} ${detail} (Retry-After ${Math.round(wait / 1000)} s)`,
          call.endpoint,
          status!,
          wait,
        );
      }
      if (attempt >= this.settings.maxAttempts) {
        if (throttled)
          throw new GraphThrottledError(
            `${what} ${detail} after ${attempt} attempts`,
            call.endpoint,
            status!,
            wait ?? backoff,
          );
        throw new GraphError(
          `${what} failed after ${attempt} attempts; last ${detail}`,
          call.endpoint,
          status,
          gerr.code,
          true,
        );
      }
      const pause = wait ?? backoff + Math.random() * backoff * 0.25;
      backoff = Math.min(backoff * 2, 30_000);
      this.logger.debug(`${what}: ${detail}; retry ${attempt} in ${Math.round(pause)} ms`);
      await this.sleep(pause);
    }
  }

  /** Sends and validates a JSON answer; the error names the call and the first bad field. */
  async json<S extends z.ZodType>(
    call: GraphCall,
    schema: S,
  ): Promise<{ status: number; data: z.output<S> }> {
    const res = await this.send(call);
    return { status: res.status, data: parseJson(res, schema, call) };
  }

  private async token(): Promise<string> {
    if (!this.deps.tokens) throw new GraphError('Graph: no credential configured', 'token');
    return this.deps.tokens.token();
  }

  private async attempt(call: GraphCall, token: string | undefined): Promise<GraphResponse> {
    this.count(call.endpoint);
    const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: Buffer | undefined;
    let stream: Readable | undefined;
    if (call.body?.kind === 'json') {
      payload = Buffer.from(JSON.stringify(call.body.value), 'utf8');
      headers['content-type'] = 'application/json';
    } else if (call.body?.kind === 'bytes') {
      payload = call.body.bytes;
      headers['content-type'] = call.body.contentType;
    } else if (call.body?.kind === 'stream') {
      stream = await call.body.open();
      headers['content-type'] = call.body.contentType;
    }
    const length = payload ? payload.length : call.body?.kind === 'stream' ? call.body.length : 0;
    if (call.body) headers['content-length'] = String(length);
    const isHttps = call.url.protocol === 'https:';
    const timeoutMs = call.timeoutMs ?? this.settings.timeoutMs;
    const cap = this.settings.maxResponseBytes;

    return new Promise<GraphResponse>((resolve, reject) => {
      let sent = false;
      let settled = false;
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        stream?.destroy();
        req.destroy();
        reject(new AttemptFailure(message, sent));
      };
      const req = (isHttps ? https : http).request(call.url, {
        method: call.method,
        headers,
        agent: isHttps ? this.httpsAgent : this.httpAgent,
      });
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        const code = (err as NodeJS.ErrnoException).code;
        // Refused or unresolvable: nothing can have been processed.
        if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') sent = false;
        fail(`network error (${code ?? err.message})`);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > cap) {
            clearTimeout(timer);
            fail(`answer larger than ${cap} bytes`);
            return;
          }
          chunks.push(c);
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          fail(`answer broke off (${err.message})`);
        });
        res.on('end', () => {
          clearTimeout(timer);
          if (settled) return;
          settled = true;
          stream?.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      });
      req.on('socket', () => {
        sent = true;
      });
      if (payload) req.end(payload);
      else if (stream) {
        let written = 0;
        stream.on('data', (c: Buffer) => {
          written += c.length;
          if (written > length) {
            fail(`body longer than its declared ${length} bytes`);
            return;
          }
          if (!req.write(c)) stream!.pause();
        });
        req.on('drain', () => stream!.resume());
        stream.on('end', () => {
          if (written !== length) fail(`body of ${written} bytes, ${length} declared`);
          else req.end();
        });
        stream.on('error', (err) => {
          clearTimeout(timer);
          // The source failed (e.g. the blob read): say so plainly; the request is abandoned.
          fail(`request body could not be read (${err.message})`);
        });
      } else req.end();
    });
  }
}

function bodyLength(body: GraphBody): number {
  if (body.kind === 'json') return Buffer.byteLength(JSON.stringify(body.value), 'utf8');
  return body.kind === 'bytes' ? body.bytes.length : body.length;
}

export function parseJson<S extends z.ZodType>(
  res: GraphResponse,
  schema: S,
  call: Pick<GraphCall, 'describe' | 'endpoint'>,
): z.output<S> {
  let data: unknown;
  try {
    data = JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new GraphError(
      `Graph ${call.describe} answered ${res.status} with a body that is not JSON`,
      call.endpoint,
      res.status,
    );
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? issue.path.join('.') : '(root)';
    throw new GraphError(
      `Graph ${call.describe} answered an unexpected shape at ${path}: ${issue?.message ?? 'invalid'}`,
      call.endpoint,
      res.status,
    );
  }
  return parsed.data;
}
