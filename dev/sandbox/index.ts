/**
 * A local sandbox of the LivePerson APIs the archiver uses (CSDS, Sentinel, Messaging Interactions, Users,
 * Bulk File Download), on 127.0.0.1 only. Deterministic from a seed, with a movable clock and fault
 * injection: the embedded default for `npm start`, the ground for the tests and the load for the benchmarks.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BulkDownloads } from './bulk.js';
import { DEFAULT_FILE_SIZES, type FileSizes } from './files.js';
import { OAuth1Verifier } from './oauth1.js';
import { hashSeed, mulberry32 } from './prng.js';
import { DEFAULT_CONTENT } from './render.js';
import { createHandler, type Faults, type ServerState } from './server.js';
import { ConversationStore } from './store.js';
import { TokenIssuer } from './tokens.js';

export interface SandboxOptions {
  /** 0 = a free port (default). Always bound to 127.0.0.1. */
  port?: number;
  /** Default '12345678'. */
  accountId?: string;
  /** Generated conversations (default 200). */
  conversations?: number;
  /** Generator seed (default 1): the same seed, `now` and options give the same records byte for byte. */
  seed?: number;
  /** Conversations start within the last N days of the initial clock (default 30). */
  spanDays?: number;
  /** Initial sandbox clock, epoch ms (default Date.now()); then real time (see realTime) plus advance(). */
  now?: number;
  /**
   * The instant the conversations are generated around, epoch ms (default: `now`). A fixed anchor with the
   * same seed gives the same conversations, at the same times, whenever the sandbox starts (`npm start`
   * keeps one, so a restart does not make every conversation look changed); the clock still starts at `now`.
   */
  anchor?: number;
  /** Fraction of data requests answered 429/500/503 (default 0). */
  faultRate?: number;
  /** Added to every response, ms (default 0). */
  latencyMs?: number;
  /** Fraction of search pages answered with partialResult=true and records missing (default 0). */
  partialPageRate?: number;
  /** Fraction of data requests whose connection is destroyed without an answer (default 0). */
  dropRate?: number;
  /** An update becomes visible to search only this long after it happens (LivePerson: up to 1 min). Default 0. */
  indexLagMs?: number;
  /** The account has Bulk File Download (default true); false → 403 on the fms endpoints. */
  bulkFileDownload?: boolean;
  /** Sentinel token lifetime in seconds (default 3600). */
  tokenTtlSeconds?: number;
  /** Hosted file sizes in bytes (default 2–200 KB). */
  fileSizes?: { min: number; max: number };
  /** false: the clock moves only through clock.advance() (reproducible tests). Default true: real time too. */
  realTime?: boolean;
  /** Polls of a bulk download request before it is READY (default 2: IN_PROGRESS, then READY). */
  bulkPollsUntilReady?: number;
  /**
   * Serve Bulk File Download requests for a list of conversations, `{"filter":{"conversationIds":[...]}}`
   * (default true). An ASSUMPTION beyond LivePerson's docs, which show only `conversationId`; false answers
   * the list filter 400, strictly as documented.
   */
  bulkListFilter?: boolean;
}

/** Endpoints whose answers `hostile.oversizeJson` can blow up. */
export type JsonEndpoint = 'csds' | 'token' | 'search' | 'byId' | 'users' | 'files.create' | 'files.status';

export interface Sandbox {
  /** e.g. http://127.0.0.1:PORT */
  url: string;
  accountId: string;
  /** Everything a client needs: LP_ACCOUNT_ID, LP_CSDS_URL, LP_ALLOWED_HOSTS, OAuth1 and OAuth2 credentials. */
  env: Record<string, string>;
  clock: { now(): number; advance(ms: number): void };
  conversations: {
    /** All generated conversation ids, in generation order. */
    ids(): string[];
    /** The record as the API would return it now (by-ID view, every container). */
    get(id: string): unknown | undefined;
    /** The latest change at or before now. */
    lastUpdateTime(id: string): number | undefined;
    /** GDPR deletion now: texts, names and files → '** LP deleted data **', files gone from storage. */
    redact(id: string): void;
    /** A post-conversation survey answer given now (endTime moves); throws for an open conversation. */
    addLateSurvey(id: string): void;
    /** More conversations starting now; returns their ids. */
    add(count: number): string[];
    /** Makes one record malformed (applied to every rendering of it, search and by-ID). */
    // biome-ignore lint/suspicious/noExplicitAny: a raw record is untyped JSON; tests mutate it freely
    corrupt(id: string, mutate: (raw: any) => void): void;
    /** The file is gone from storage: absent from Bulk File Download ZIPs. */
    removeFile(id: string, relativePath: string): void;
    /** Bulk File Download requests for this conversation end FAILED (until called with false). */
    failBulkDownload(id: string, fail?: boolean): void;
    /** Hosted files the record references (relativePaths), and the exact bytes the sandbox serves for one. */
    files(id: string): string[];
    fileBytes(relativePath: string): Buffer;
    /**
     * Conversations with exactly these IDs (any string: whitespace, lone surrogates, `.`/`..`, over 1 KiB),
     * starting at `startL` (default now) one millisecond apart; `closed` (default true) closes each one even
     * if its plan would stay open. Returns the ids.
     */
    addWithIds(ids: readonly string[], opts?: { startL?: number; closed?: boolean }): string[];
    /** Shows and stores a file under another relativePath from now on (e.g. to make two names collide). */
    renameFile(id: string, from: string, to: string): void;
  };
  /** What a broken or hostile LivePerson might do, for tests of the client's defences. */
  hostile: {
    /** The next `calls` calls to any Bulk File Download endpoint (create, status, ZIP) answer 503. */
    filesOutage(calls: number): void;
    /** The next `count` ZIP transfers break off after a few KB. */
    breakZipTransfers(count: number): void;
    /** The next `requests` Bulk File Download requests including this conversation stay IN_PROGRESS. */
    stallBulkDownload(id: string, requests?: number): void;
    /** The conversation's archive also holds an entry named like this file (or any path), with other bytes. */
    addZipEntry(id: string, relativePath: string, bytes: Buffer): void;
    /** `count` more tiny entries in the conversation's archive (an entry-count bomb). */
    addZipEntries(id: string, count: number): void;
    /** The file is served as `expandedBytes` zero bytes, deflated: a compression bomb. */
    zipBomb(relativePath: string, expandedBytes: number): void;
    /** The next `count` answers of the endpoint are valid JSON of about `bytes` bytes, streamed. */
    oversizeJson(endpoint: JsonEndpoint, bytes: number, count?: number): void;
    /** By-ID requests that name this conversation are answered 400 (false: no longer). */
    refuseById(id: string, refuse?: boolean): void;
  };
  setFaults(
    f: Partial<
      Pick<SandboxOptions, 'faultRate' | 'latencyMs' | 'partialPageRate' | 'dropRate' | 'indexLagMs'>
    >,
  ): void;
  /** Calls per endpoint (csds, token, search, byId, users, files.*, unknown) and fault.* per injected kind. */
  stats(): { calls: Record<string, number>; total: number };
  resetStats(): void;
  stop(): Promise<void>;
}

const DAY = 24 * 60 * 60 * 1000;

/** Fixed, obviously-fake credentials: the sandbox is local-only and prints them for pasting. */
export const SANDBOX_CREDENTIALS = {
  appKey: 'sandbox-app-key',
  appSecret: 'sandbox-app-secret',
  accessToken: 'sandbox-access-token',
  accessTokenSecret: 'sandbox-access-token-secret',
  clientId: 'sandbox-client-id',
  clientSecret: 'sandbox-client-secret',
} as const;

function rate(name: string, v: number | undefined, def: number): number {
  const r = v ?? def;
  if (!(r >= 0 && r <= 1)) throw new Error(`sandbox: ${name} must be between 0 and 1, got ${v}`);
  return r;
}

function nonNegative(name: string, v: number | undefined, def: number): number {
  const n = v ?? def;
  if (!(Number.isFinite(n) && n >= 0)) throw new Error(`sandbox: ${name} must be a number ≥ 0, got ${v}`);
  return n;
}

function faultsFrom(o: SandboxOptions, base: Faults): Faults {
  return {
    faultRate: rate('faultRate', o.faultRate, base.faultRate),
    latencyMs: nonNegative('latencyMs', o.latencyMs, base.latencyMs),
    partialPageRate: rate('partialPageRate', o.partialPageRate, base.partialPageRate),
    dropRate: rate('dropRate', o.dropRate, base.dropRate),
    indexLagMs: nonNegative('indexLagMs', o.indexLagMs, base.indexLagMs),
  };
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const accountId = options.accountId ?? '12345678';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(accountId)) throw new Error(`sandbox: invalid accountId '${accountId}'`);
  const seed = (options.seed ?? 1) >>> 0;
  const fileSizes: FileSizes = options.fileSizes ?? DEFAULT_FILE_SIZES;
  if (!(fileSizes.min >= 64 && fileSizes.max >= fileSizes.min)) {
    throw new Error('sandbox: fileSizes needs 64 ≤ min ≤ max (room for each file type’s header)');
  }
  const startNow = options.now ?? Date.now();
  const realStart = performance.now();
  const realTime = options.realTime ?? true;
  let advanced = 0;
  const clock = {
    now: () => Math.floor(startNow + (realTime ? performance.now() - realStart : 0) + advanced),
    advance: (ms: number) => {
      if (!(Number.isFinite(ms) && ms >= 0)) throw new Error('sandbox: clock.advance needs ms ≥ 0');
      advanced += ms;
    },
  };

  const store = new ConversationStore(seed, accountId, fileSizes);
  const count = nonNegative('conversations', options.conversations, 200);
  if (!Number.isInteger(count))
    throw new Error(`sandbox: conversations must be a whole number, got ${count}`);
  store.generateSpread(
    count,
    options.anchor ?? startNow,
    nonNegative('spanDays', options.spanDays, 30) * DAY,
  );

  const c = SANDBOX_CREDENTIALS;
  const state: ServerState = {
    accountId,
    clientId: c.clientId,
    clientSecret: c.clientSecret,
    bulkFileDownload: options.bulkFileDownload ?? true,
    faults: faultsFrom(options, {
      faultRate: 0,
      latencyMs: 0,
      partialPageRate: 0,
      dropRate: 0,
      indexLagMs: 0,
    }),
    faultRng: mulberry32(hashSeed(seed, 'faults')),
    now: clock.now,
    store,
    oauth1: new OAuth1Verifier(
      {
        consumerKey: c.appKey,
        consumerSecret: c.appSecret,
        token: c.accessToken,
        tokenSecret: c.accessTokenSecret,
      },
      () => Math.floor(clock.now() / 1000),
    ),
    tokens: new TokenIssuer(
      accountId,
      clock.now,
      nonNegative('tokenTtlSeconds', options.tokenTtlSeconds, 3600),
    ),
    bulk: undefined as unknown as BulkDownloads,
    calls: new Map(),
  };
  state.bulk = new BulkDownloads(
    store,
    accountId,
    clock.now,
    options.bulkPollsUntilReady ?? 2,
    options.bulkListFilter ?? true,
  );
  const hostile = state.bulk.hostile;
  const whole = (name: string, n: number) => {
    if (!(Number.isInteger(n) && n >= 0))
      throw new Error(`sandbox: ${name} needs a whole number ≥ 0, got ${n}`);
    return n;
  };

  const server = createServer(createHandler(state));
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;

  return {
    url,
    accountId,
    env: {
      LP_ACCOUNT_ID: accountId,
      LP_CSDS_URL: url,
      LP_ALLOWED_HOSTS: host,
      LP_APP_KEY: c.appKey,
      LP_APP_SECRET: c.appSecret,
      LP_ACCESS_TOKEN: c.accessToken,
      LP_ACCESS_TOKEN_SECRET: c.accessTokenSecret,
      LP_CLIENT_ID: c.clientId,
      LP_CLIENT_SECRET: c.clientSecret,
    },
    clock,
    conversations: {
      ids: () => store.ids(),
      get: (id) =>
        store.has(id) ? store.render(id, { asOf: clock.now(), byId: true, content: ALL_CONTENT }) : undefined,
      lastUpdateTime: (id) => (store.has(id) ? store.lastUpdateTime(id, clock.now()) : undefined),
      redact: (id) => store.redact(id, clock.now()),
      addLateSurvey: (id) => store.addLateSurvey(id, clock.now()),
      add: (n) => {
        if (!(Number.isInteger(n) && n >= 0))
          throw new Error(`sandbox: add() needs a whole number ≥ 0, got ${n}`);
        return store.generateAt(n, clock.now());
      },
      corrupt: (id, mutate) => store.corrupt(id, mutate),
      removeFile: (id, relativePath) => store.removeFile(id, relativePath),
      failBulkDownload: (id, fail = true) => store.failBulkDownload(id, fail),
      files: (id) => store.allFiles(id),
      fileBytes: (relativePath) => store.fileBytes(relativePath),
      addWithIds: (ids, opts = {}) =>
        store.generateWithIds(ids, opts.startL ?? clock.now(), opts.closed ?? true),
      renameFile: (id, from, to) => store.renameFile(id, from, to),
    },
    hostile: {
      filesOutage: (calls) => {
        hostile.filesOutage = whole('filesOutage', calls);
      },
      breakZipTransfers: (count) => {
        hostile.brokenTransfers = whole('breakZipTransfers', count);
      },
      stallBulkDownload: (id, requests = 1) => {
        hostile.stalled.set(id, whole('stallBulkDownload', requests));
      },
      addZipEntry: (id, relativePath, bytes) => {
        hostile.extras.set(id, [...(hostile.extras.get(id) ?? []), { relativePath, bytes }]);
      },
      addZipEntries: (id, count) => {
        const extra = Array.from({ length: whole('addZipEntries', count) }, (_, i) => ({
          relativePath: `/extra/${i}.txt`,
          bytes: Buffer.from(String(i)),
        }));
        hostile.extras.set(id, [...(hostile.extras.get(id) ?? []), ...extra]);
      },
      zipBomb: (relativePath, expandedBytes) => {
        hostile.bombs.set(relativePath, whole('zipBomb', expandedBytes));
      },
      refuseById: (id, refuse = true) => {
        if (refuse) hostile.refusedById.add(id);
        else hostile.refusedById.delete(id);
      },
      oversizeJson: (endpoint, bytes, count = 1) => {
        hostile.oversize.set(endpoint, {
          bytes: whole('oversizeJson', bytes),
          count: whole('oversizeJson', count),
        });
      },
    },
    setFaults: (f) => {
      state.faults = faultsFrom(f, state.faults);
    },
    stats: () => {
      const calls = Object.fromEntries(state.calls);
      const total = [...state.calls].filter(([k]) => !k.startsWith('fault.')).reduce((s, [, n]) => s + n, 0);
      return { calls, total };
    },
    resetStats: () => state.calls.clear(),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** What `conversations.get()` shows: every container, as the by-ID method would return with a full list. */
const ALL_CONTENT: ReadonlySet<string> = new Set([
  ...DEFAULT_CONTENT,
  'unAuthSdes',
  'monitoring',
  'dialogs',
  'responseTime',
]);
