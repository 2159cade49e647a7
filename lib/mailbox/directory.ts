/**
 * Resolves an e-mail address to a Microsoft 365 mailbox through Graph: first as a user principal name,
 * then as the primary SMTP address (`mail`), then as a proxy address. Results, "no such mailbox"
 * included, are cached in Table storage with an expiry (MAILBOX_RESOLVE_CACHE_HOURS, and the shorter
 * MAILBOX_RESOLVE_NEGATIVE_MINUTES for misses), so a busy day does not resolve the same agent thousands
 * of times, and a new hire is found soon after their mailbox exists.
 */
import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { GraphClient, GraphUser } from '../graph/client.js';
import { safeKey } from '../ids.js';

export const ResolvedMailboxSchema = z.object({
  userId: z.string().min(1),
  /** The address shown in the log: the primary SMTP address, else the UPN. */
  address: z.string().min(1),
  via: z.enum(['upn', 'mail', 'proxy']),
});
export type ResolvedMailbox = z.infer<typeof ResolvedMailboxSchema>;

const CachedSchema = z.object({
  found: z.boolean(),
  userId: z.string().optional(),
  address: z.string().optional(),
  via: z.enum(['upn', 'mail', 'proxy']).optional(),
  expiresAt: z.number(),
});

const PARTITION = 'user';

export interface DirectoryOptions {
  positiveTtlMs: number;
  negativeTtlMs: number;
  now?: () => number;
}

export class MailboxDirectory {
  private readonly memory = new Map<string, { value: ResolvedMailbox | undefined; expiresAt: number }>();
  private readonly inflight = new Map<string, Promise<ResolvedMailbox | undefined>>();
  private ensured?: Promise<unknown>;
  private readonly now: () => number;

  constructor(
    private readonly graph: GraphClient,
    private readonly table: TableClient | undefined,
    private readonly opts: DirectoryOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  async resolve(address: string): Promise<ResolvedMailbox | undefined> {
    const key = address.trim().toLowerCase();
    const mem = this.memory.get(key);
    if (mem && mem.expiresAt > this.now()) return mem.value;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.lookup(key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private remember(key: string, value: ResolvedMailbox | undefined): number {
    const expiresAt = this.now() + (value ? this.opts.positiveTtlMs : this.opts.negativeTtlMs);
    this.memory.set(key, { value, expiresAt });
    if (this.memory.size > 50_000) this.memory.clear();
    return expiresAt;
  }

  private async lookup(key: string): Promise<ResolvedMailbox | undefined> {
    if (this.table) {
      this.ensured ??= this.table.createTable();
      await this.ensured;
      try {
        const e = CachedSchema.safeParse(await this.table.getEntity(PARTITION, safeKey(key)));
        if (e.success && e.data.expiresAt > this.now()) {
          const value =
            e.data.found && e.data.userId && e.data.address && e.data.via
              ? { userId: e.data.userId, address: e.data.address, via: e.data.via }
              : undefined;
          this.memory.set(key, { value, expiresAt: e.data.expiresAt });
          return value;
        }
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      }
    }
    const value = await this.ask(key);
    const expiresAt = this.remember(key, value);
    if (this.table)
      await this.table.upsertEntity(
        {
          partitionKey: PARTITION,
          rowKey: safeKey(key),
          lookedUp: key,
          found: value !== undefined,
          ...(value ?? {}),
          expiresAt,
        },
        'Replace',
      );
    return value;
  }

  private async ask(address: string): Promise<ResolvedMailbox | undefined> {
    const shown = (u: GraphUser) => u.mail || u.userPrincipalName || address;
    const byUpn = await this.graph.getUser(address);
    if (byUpn) return { userId: byUpn.id, address: shown(byUpn), via: 'upn' };
    const byMail = await this.graph.findUsersByMail(address);
    // Two users sharing one address would be a tenant misconfiguration: never guess between them.
    if (byMail.length === 1) return { userId: byMail[0]!.id, address: shown(byMail[0]!), via: 'mail' };
    if (byMail.length > 1) return undefined;
    const byProxy = await this.graph.findUsersByProxyAddress(address);
    if (byProxy.length === 1) return { userId: byProxy[0]!.id, address: shown(byProxy[0]!), via: 'proxy' };
    return undefined;
  }
}
