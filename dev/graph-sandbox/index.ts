/**
 * A local sandbox of the Microsoft Graph and identity-platform APIs the archiver's mailbox delivery uses, on
 * 127.0.0.1 only, over HTTPS with a CA made at start. It follows Microsoft's documented contract strictly (so
 * the client is held to it), injects faults from a seeded PRNG, enforces Outlook's per-mailbox limits, and
 * lets tests read back every mailbox. Never deployed; see README.md for the contract and its sources.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Identity } from './identity.js';
import { seededRng, stableGuid } from './ids.js';
import { mimeOf } from './mail.js';
import { mimeAttachments, type ReadBackAttachment } from './mime.js';
import { Mirror } from './mirror.js';
import { createHandler } from './server.js';
import type { Faults, SandboxState } from './state.js';
import { type CreatedVia, type Folder, MailboxStore } from './store.js';
import {
  buildDirectory,
  DEFAULT_FOLDER_PATH,
  type DirectoryUser,
  defaultGraphUsers,
  type GraphUserSpec,
  primaryAddress,
} from './tenant.js';
import { type Limits, OUTLOOK_LIMITS, Throttle } from './throttle.js';
import { createLoopbackTls } from './tls.js';

export type { Faults } from './state.js';
export type { DirectoryUser, GraphUserSpec } from './tenant.js';
export { DEFAULT_FOLDER_NAME, DEFAULT_FOLDER_PATH, DEFAULT_USER_ROLES, defaultGraphUsers } from './tenant.js';
export type { Limits } from './throttle.js';
export { OUTLOOK_LIMITS } from './throttle.js';

export const DEFAULT_APP_PERMISSIONS: readonly string[] = [
  'Mail.ReadWrite',
  'Mail-Advanced.ReadWrite.All',
  'User.Read.All',
];

export interface GraphSandboxOptions {
  /** 0 = a free port (default). Always bound to 127.0.0.1. */
  port?: number;
  /** Seeds ids and fault draws (default 1). */
  seed?: number;
  /** Default 'brand.example'. */
  tenantDomain?: string;
  /** Default: a GUID from the seed. */
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Default: defaultGraphUsers({ tenantDomain }). */
  users?: GraphUserSpec[];
  /** Application permissions granted to the app (the token's `roles`). */
  appPermissions?: readonly string[];
  /** Access-token lifetime (default 3599 s, what Entra usually gives). */
  tokenTtlSeconds?: number;
  /** PEM certificates registered as the app's credentials (client assertions). */
  certificates?: string[];
  /** Outlook's per-mailbox limits (defaults: OUTLOOK_LIMITS); false turns them off. */
  limits?: Partial<Limits> | false;
  faults?: Partial<Faults>;
  /** Faults and latency on the identity endpoints too (default false). */
  faultsOnToken?: boolean;
  /** Every stored item is also written under this directory. */
  mirrorDir?: string;
  /** Upload-session lifetime (default 15 minutes). */
  uploadSessionTtlSeconds?: number;
  /** Refuse attachments on non-draft messages (default false: allowed; undocumented, see README). */
  attachmentsRequireDraft?: boolean;
  /**
   * Default true. false: items keep only the SHA-256 and size of their MIME and attachments (read-back gives
   * an empty `mime` and attachments without bytes), so a long benchmark does not hold every item in memory.
   * The mirror, when set, is still written in full.
   */
  keepContent?: boolean;
}

export interface ReadBackItem {
  id: string;
  internetMessageId: string;
  subject: string;
  isDraft: boolean;
  createdVia: CreatedVia;
  receivedDateTime: string;
  sentDateTime: string | null;
  createdDateTime: string;
  /** The item's MIME (as sent, or composed for JSON items); empty with keepContent: false. */
  mime: Buffer;
  /** SHA-256 (hex) and size of that MIME, also when the bytes were not kept. */
  sha256: string;
  size: number;
  /** With keepContent: false: only attachments added from JSON, without bytes (MIME ones are not parsed). */
  attachments: ReadBackAttachment[];
}

export interface FolderTree {
  id: string;
  displayName: string;
  wellKnownName?: string;
  itemCount: number;
  children: FolderTree[];
}

export interface GraphSandboxStats {
  /** Calls per endpoint: token, openid, keys, users.get, users.list, folders.get, folders.list, folders.create,
   * messages.list, messages.get, messages.value, messages.create, importMime, attachments.list,
   * attachments.create, uploadSession.create, uploadSession.put, uploadSession.delete. */
  calls: Record<string, number>;
  total: number;
  /** Responses sent, by status code. */
  responses: Record<string, number>;
  injected: { '429': number; '503': number; drop: number; commitThenDrop: number };
  enforced: { '413': number; '429.concurrency': number; '429.requests': number; '429.upload': number };
  /** Request body bytes (POST/PUT/PATCH) per mailbox address. */
  uploadedBytes: Record<string, number>;
  /** Highest number of requests in flight at once per mailbox address. */
  maxConcurrency: Record<string, number>;
}

export interface GraphSandbox {
  /** https://127.0.0.1:PORT */
  url: string;
  /** GRAPH_TENANT_ID, GRAPH_CLIENT_ID, GRAPH_CLIENT_SECRET, GRAPH_AUTHORITY_HOST, GRAPH_BASE_URL,
   * GRAPH_ALLOWED_HOSTS, GRAPH_CA_CERT_FILE. */
  env: Record<string, string>;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The CA certificate (PEM) a client must trust; also in the file caFile (removed on stop). */
  caPem: string;
  caFile: string;
  users: readonly DirectoryUser[];
  clock: { now(): number; advance(ms: number): void };
  registerCertificate(pem: string): { x5t: string; 'x5t#S256': string };
  /** New tokens carry these roles (tokens already issued keep theirs, as in Entra). */
  setAppPermissions(permissions: readonly string[]): void;
  setFaults(faults: Partial<Faults>): void;
  setLimits(limits: Partial<Limits> | false): void;
  /** Addresses (mail, else UPN; lower case) of every mailbox. */
  mailboxes(): string[];
  /** The folder tree below the top of the store; address = mail, UPN or proxy address. */
  folders(address: string): FolderTree[];
  /** Items of one folder in storage order (default Inbox/LivePerson Conversational Cloud DataParser). */
  items(address: string, folderPath?: readonly string[]): Promise<ReadBackItem[]>;
  stats(): GraphSandboxStats;
  resetStats(): void;
  stop(): Promise<void>;
}

function rate(name: string, v: number | undefined, def: number): number {
  const r = v ?? def;
  if (!(r >= 0 && r <= 1)) throw new Error(`graph-sandbox: faults.${name} must be between 0 and 1, got ${v}`);
  return r;
}

function nonNegative(name: string, v: number | undefined, def: number): number {
  const n = v ?? def;
  if (!(Number.isFinite(n) && n >= 0))
    throw new Error(`graph-sandbox: ${name} must be a number ≥ 0, got ${v}`);
  return n;
}

function faultsFrom(f: Partial<Faults>, base: Faults): Faults {
  const out = {
    rate429: rate('rate429', f.rate429, base.rate429),
    rate503: rate('rate503', f.rate503, base.rate503),
    retryAfterSeconds: nonNegative('faults.retryAfterSeconds', f.retryAfterSeconds, base.retryAfterSeconds),
    dropRate: rate('dropRate', f.dropRate, base.dropRate),
    commitThenDropRate: rate('commitThenDropRate', f.commitThenDropRate, base.commitThenDropRate),
    commitThenDropFirst: nonNegative(
      'faults.commitThenDropFirst',
      f.commitThenDropFirst,
      base.commitThenDropFirst,
    ),
    latencyMs: nonNegative('faults.latencyMs', f.latencyMs, base.latencyMs),
  };
  if (out.rate429 + out.rate503 + out.dropRate > 1)
    throw new Error('graph-sandbox: rate429 + rate503 + dropRate must not exceed 1');
  return out;
}

function limitsFrom(l: Partial<Limits> | false | undefined): Limits | false {
  if (l === false) return false;
  const out = { ...OUTLOOK_LIMITS, ...l };
  for (const [k, v] of Object.entries(out)) {
    if (!(Number.isFinite(v) && v > 0))
      throw new Error(`graph-sandbox: limits.${k} must be a number > 0, got ${v}`);
  }
  return out;
}

const NO_FAULTS: Faults = {
  rate429: 0,
  rate503: 0,
  retryAfterSeconds: 1,
  dropRate: 0,
  commitThenDropRate: 0,
  commitThenDropFirst: 0,
  latencyMs: 0,
};

export async function startGraphSandbox(options: GraphSandboxOptions = {}): Promise<GraphSandbox> {
  const seed = (options.seed ?? 1) >>> 0;
  const tenantDomain = options.tenantDomain ?? 'brand.example';
  const tenantId = (options.tenantId ?? stableGuid(seed, `tenant:${tenantDomain}`)).toLowerCase();
  const clientId = options.clientId ?? stableGuid(seed, 'client:liveperson-archiver');
  const clientSecret = options.clientSecret ?? 'graph-sandbox-client-secret~not-a-real-secret';
  const users = buildDirectory(options.users ?? defaultGraphUsers({ tenantDomain }), seed);

  let advanced = 0;
  const clock = {
    now: () => Date.now() + advanced,
    advance: (ms: number) => {
      if (!(Number.isFinite(ms) && ms >= 0)) throw new Error('graph-sandbox: clock.advance needs ms ≥ 0');
      advanced += ms;
    },
  };

  const identity = await Identity.create({
    tenantId,
    tenantAliases: [tenantDomain, `${tenantDomain.split('.')[0]}.onmicrosoft.example`],
    clientId,
    clientSecret,
    appPermissions: [...(options.appPermissions ?? DEFAULT_APP_PERMISSIONS)],
    tokenTtlSeconds: nonNegative('tokenTtlSeconds', options.tokenTtlSeconds, 3599),
    now: clock.now,
  });
  for (const pem of options.certificates ?? []) identity.registerCertificate(pem);

  const mailboxes = new Map<string, MailboxStore>();
  for (const u of users) if (u.hasMailbox) mailboxes.set(u.id, new MailboxStore(u.id, seed));

  const state: SandboxState = {
    seed,
    tenantId,
    baseUrl: '',
    now: clock.now,
    identity,
    users,
    userById: new Map(users.map((u) => [u.id.toLowerCase(), u])),
    userByUpn: new Map(users.map((u) => [u.userPrincipalName.toLowerCase(), u])),
    mailboxes,
    throttle: new Throttle(limitsFrom(options.limits), clock.now),
    faults: faultsFrom(options.faults ?? {}, NO_FAULTS),
    faultRng: seededRng(seed ^ 0x5eed),
    tokenRng: seededRng(seed ^ 0x70c3),
    faultsOnToken: options.faultsOnToken ?? false,
    ...(options.mirrorDir ? { mirror: new Mirror(options.mirrorDir) } : {}),
    uploads: new Map(),
    uploadSessionTtlMs:
      nonNegative('uploadSessionTtlSeconds', options.uploadSessionTtlSeconds, 15 * 60) * 1000,
    attachmentsRequireDraft: options.attachmentsRequireDraft ?? false,
    keepContent: options.keepContent ?? true,
    calls: new Map(),
    counters: new Map(),
  };

  const tls = await createLoopbackTls();
  const server = createServer({ key: tls.key, cert: tls.cert }, createHandler(state));
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (e) {
    await tls.cleanup();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const host = `127.0.0.1:${port}`;
  const url = `https://${host}`;
  state.baseUrl = url;
  identity.setBaseUrl(url);

  const userFor = (address: string): DirectoryUser => {
    const a = address.toLowerCase();
    const u = users.find(
      (x) =>
        x.mail?.toLowerCase() === a ||
        x.userPrincipalName.toLowerCase() === a ||
        x.proxyAddresses.some((p) => p.toLowerCase() === `smtp:${a}`),
    );
    if (!u) throw new Error(`graph-sandbox: no user has the address ${address}`);
    return u;
  };
  const storeFor = (address: string): MailboxStore => {
    const s = mailboxes.get(userFor(address).id);
    if (!s) throw new Error(`graph-sandbox: ${address} has no mailbox`);
    return s;
  };
  const tree = (s: MailboxStore, f: Folder): FolderTree => ({
    id: f.id,
    displayName: f.displayName,
    ...(f.wellKnownName ? { wellKnownName: f.wellKnownName } : {}),
    itemCount: f.messages.length,
    children: f.children.map((c) => tree(s, s.folders.get(c)!)),
  });
  const addressOf = (userId: string) => primaryAddress(state.userById.get(userId.toLowerCase())!);

  return {
    url,
    env: {
      GRAPH_TENANT_ID: tenantId,
      GRAPH_CLIENT_ID: clientId,
      GRAPH_CLIENT_SECRET: clientSecret,
      GRAPH_AUTHORITY_HOST: url,
      GRAPH_BASE_URL: url,
      GRAPH_ALLOWED_HOSTS: host,
      GRAPH_CA_CERT_FILE: tls.caFile,
    },
    tenantId,
    clientId,
    clientSecret,
    caPem: tls.caPem,
    caFile: tls.caFile,
    users,
    clock,
    registerCertificate: (pem) => identity.registerCertificate(pem),
    setAppPermissions: (p) => identity.setAppPermissions(p),
    setFaults: (f) => {
      state.faults = faultsFrom(f, state.faults);
    },
    setLimits: (l) => state.throttle.setLimits(limitsFrom(l)),
    mailboxes: () => users.filter((u) => u.hasMailbox).map(primaryAddress),
    folders: (address) => {
      const s = storeFor(address);
      return s.folders.get(s.rootId)!.children.map((c) => tree(s, s.folders.get(c)!));
    },
    items: async (address, folderPath = DEFAULT_FOLDER_PATH) => {
      const s = storeFor(address);
      const folder = s.folderByPath(folderPath);
      if (!folder) return [];
      const out: ReadBackItem[] = [];
      for (const m of s.inFolder(folder.id)) {
        const mime = await mimeOf(m);
        const fromMime = m.createdVia === 'json' || m.dropped ? [] : await mimeAttachments(mime);
        const added = m.attachments.map((a) => ({
          name: a.name,
          contentType: a.contentType,
          size: a.size,
          bytes: a.bytes,
          isInline: a.isInline,
          ...(a.contentId ? { contentId: a.contentId } : {}),
        }));
        out.push({
          id: m.id,
          internetMessageId: m.internetMessageId,
          subject: m.subject,
          isDraft: m.isDraft,
          createdVia: m.createdVia,
          receivedDateTime: m.receivedDateTime,
          sentDateTime: m.sentDateTime,
          createdDateTime: m.createdDateTime,
          mime,
          sha256: m.dropped?.sha256 ?? createHash('sha256').update(mime).digest('hex'),
          size: m.dropped?.size ?? mime.length,
          attachments: [...fromMime, ...added],
        });
      }
      return out;
    },
    stats: () => {
      const c = (k: string) => state.counters.get(k) ?? 0;
      const t = state.throttle.stats();
      const byAddress = (r: Record<string, number>) =>
        Object.fromEntries(Object.entries(r).map(([id, n]) => [addressOf(id), n]));
      const responses: Record<string, number> = {};
      for (const [k, v] of state.counters) if (k.startsWith('status.')) responses[k.slice(7)] = v;
      return {
        calls: Object.fromEntries(state.calls),
        total: [...state.calls.values()].reduce((a, b) => a + b, 0),
        responses,
        injected: {
          '429': c('fault.429'),
          '503': c('fault.503'),
          drop: c('fault.drop'),
          commitThenDrop: c('fault.commitThenDrop'),
        },
        enforced: {
          '413': c('limit.413'),
          '429.concurrency': c('limit.429.concurrency'),
          '429.requests': c('limit.429.requests'),
          '429.upload': c('limit.429.upload'),
        },
        uploadedBytes: byAddress(t.uploadedBytes),
        maxConcurrency: byAddress(t.maxConcurrency),
      };
    },
    resetStats: () => {
      state.calls.clear();
      state.counters.clear();
      state.throttle.resetStats();
    },
    stop: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      await tls.cleanup();
    },
  };
}
