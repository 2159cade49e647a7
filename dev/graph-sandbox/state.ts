/**
 * What the sandbox's request handlers share: the tenant, the mailboxes, the identity provider, limits,
 * faults, counters, and the per-request context.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestIds } from './errors.js';
import type { Identity } from './identity.js';
import type { Rng } from './ids.js';
import type { Mirror } from './mirror.js';
import type { MailboxStore } from './store.js';
import type { DirectoryUser } from './tenant.js';
import type { Throttle } from './throttle.js';

export interface Faults {
  /** Fraction of Graph data calls answered 429 (with Retry-After). */
  rate429: number;
  /** Fraction answered 503 (with Retry-After). */
  rate503: number;
  /** Retry-After on injected 429/503, seconds. */
  retryAfterSeconds: number;
  /** Fraction whose connection is destroyed without an answer, before anything happens. */
  dropRate: number;
  /** Fraction of successful creates/imports/upload ranges that are stored and whose connection is then destroyed. */
  commitThenDropRate: number;
  /**
   * The first N successful creates/imports/upload ranges are stored and then dropped, whatever the rate
   * says: a test that needs the fault to happen gets it (a rate alone may never fire on a few requests).
   */
  commitThenDropFirst: number;
  /** Added to every Graph data call, ms. */
  latencyMs: number;
}

export interface UploadSession {
  id: string;
  token: string;
  userId: string;
  messageId: string;
  name: string;
  size: number;
  contentType: string;
  isInline: boolean;
  contentId?: string;
  chunks: Buffer[];
  received: number;
  expiresMs: number;
}

export interface SandboxState {
  seed: number;
  tenantId: string;
  baseUrl: string;
  now(): number;
  identity: Identity;
  users: DirectoryUser[];
  userById: Map<string, DirectoryUser>;
  userByUpn: Map<string, DirectoryUser>;
  mailboxes: Map<string, MailboxStore>;
  throttle: Throttle;
  faults: Faults;
  faultRng: Rng;
  tokenRng: Rng;
  faultsOnToken: boolean;
  mirror?: Mirror;
  uploads: Map<string, UploadSession>;
  uploadSessionTtlMs: number;
  attachmentsRequireDraft: boolean;
  /** false: stored items keep their digest and size, not their bytes (long benchmarks). */
  keepContent: boolean;
  /** Per endpoint. */
  calls: Map<string, number>;
  /** Injected faults, enforced limits and responses by status. */
  counters: Map<string, number>;
}

export interface Ctx {
  state: SandboxState;
  req: IncomingMessage;
  ids: RequestIds;
  url: URL;
  version: 'v1.0' | 'beta';
  /** Decoded path segments after the version. */
  segs: string[];
  user?: DirectoryUser;
  store?: MailboxStore;
  body?: Buffer;
}

export function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}
