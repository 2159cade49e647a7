/**
 * Which mailboxes receive an item: its participants mapped to Microsoft 365 mailboxes, automatically
 * (their LivePerson e-mail resolved against the tenant) with admin overrides (the mapping CSV), limited to
 * the tenant's domains when TENANT_DOMAINS is set, consumers only when DELIVER_TO_CONSUMERS is on. When no
 * participant maps, the fallback mailbox (if any) receives the item; otherwise it is `unmapped` and stays
 * in the archive.
 */
import type { DeliveryCandidate } from '../archive/blob-layout.js';
import { validEmail } from '../email/text.js';
import type { ResolvedMailbox } from './directory.js';
import { lookupOverride, type MappingTable } from './mapping-csv.js';

export interface MappingSettings {
  deliverToConsumers: boolean;
  /** Lower-case domains; empty = any domain the tenant resolves. */
  tenantDomains: readonly string[];
  fallbackMailbox?: string | undefined;
}

export interface MappedMailbox extends ResolvedMailbox {
  /** Participant ids that map here (several participants can share a mailbox), or ['fallback']. */
  participants: string[];
  how: 'automatic' | 'mapping file' | 'fallback';
}

export interface MappingOutcome {
  mailboxes: MappedMailbox[];
  /** Why each participant without a mailbox has none, in plain words. */
  notMapped: { participant: string; reason: string }[];
}

export interface Resolver {
  resolve(address: string): Promise<ResolvedMailbox | undefined>;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

export function inTenant(address: string, domains: readonly string[]): boolean {
  return domains.length === 0 || domains.includes(domainOf(address));
}

export async function mapParticipants(
  candidates: readonly DeliveryCandidate[],
  deps: { overrides: MappingTable; directory: Resolver; settings: MappingSettings },
): Promise<MappingOutcome> {
  const { settings } = deps;
  const byUser = new Map<string, MappedMailbox>();
  const notMapped: MappingOutcome['notMapped'] = [];
  for (const c of candidates) {
    const who = `${c.role.toLowerCase()} ${c.loginName ?? c.address ?? c.id}`;
    if (c.role === 'CONSUMER' && !settings.deliverToConsumers) {
      notMapped.push({
        participant: who,
        reason: 'consumers are not delivered to (DELIVER_TO_CONSUMERS is off)',
      });
      continue;
    }
    const override = lookupOverride(deps.overrides, c);
    const target = override ?? (c.address ? validEmail(c.address) : undefined);
    if (!target) {
      notMapped.push({
        participant: who,
        reason: 'no e-mail address at LivePerson and no line in the mapping file',
      });
      continue;
    }
    if (!inTenant(target, settings.tenantDomains)) {
      notMapped.push({
        participant: who,
        reason: `${target} is outside the tenant's domains (TENANT_DOMAINS)`,
      });
      continue;
    }
    const mailbox = await deps.directory.resolve(target);
    if (!mailbox) {
      notMapped.push({ participant: who, reason: `no Microsoft 365 mailbox for ${target}` });
      continue;
    }
    const seen = byUser.get(mailbox.userId);
    if (seen) seen.participants.push(c.id);
    else
      byUser.set(mailbox.userId, {
        ...mailbox,
        participants: [c.id],
        how: override ? 'mapping file' : 'automatic',
      });
  }
  if (byUser.size === 0 && settings.fallbackMailbox) {
    const fallback = await deps.directory.resolve(settings.fallbackMailbox);
    if (!fallback) {
      notMapped.push({
        participant: 'fallback',
        reason: `no Microsoft 365 mailbox for the fallback ${settings.fallbackMailbox}`,
      });
    } else byUser.set(fallback.userId, { ...fallback, participants: ['fallback'], how: 'fallback' });
  }
  return { mailboxes: [...byUser.values()], notMapped };
}
