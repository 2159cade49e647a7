/**
 * Who took part in a conversation and at which address each of them receives the archived item.
 * Agents' addresses come from the Users API directory (deleted users included); consumers' from their
 * profile or the personal-info SDE. Whoever has no real address gets a stable synthetic one, so every
 * participant is still an addressee and re-runs address the same mailboxes.
 */
import { type ConversationRecord, isPlaceholder, lpBool, lpList, lpText } from '../liveperson/record.js';
import type { UsersDirectory } from '../liveperson/users-schema.js';
import { clip, headerText, safeToken, validEmail } from './text.js';

/** What a reader must tell apart at a glance: the four kinds of lines in a transcript. */
export type ParticipantKind = 'consumer' | 'agent' | 'bot' | 'system';

export interface Participant {
  id: string;
  /** LivePerson's role, upper case: CONSUMER, AGENT, MANAGER, … (a bot is usually AGENT there). */
  role: string;
  kind: ParticipantKind;
  name: string;
  address: string;
  synthetic: boolean;
  deleted?: boolean;
  /** The LivePerson login name (Users API, else agentParticipants.agentLoginName). */
  loginName?: string;
}

/** The label shown beside a participant's name: consumer, agent, manager, bot, system. */
export function roleLabel(p: Pick<Participant, 'role' | 'kind'>): string {
  if (p.kind !== 'agent') return p.kind;
  return p.role.toLowerCase().replace(/_/g, ' ') || 'agent';
}

/** Users API / agentParticipants user types: 0 system, 1 human, 2 bot. */
function kindOf(userType: string | undefined, userTypeName: string | undefined): ParticipantKind {
  const name = userTypeName?.toLowerCase();
  if (userType === '2' || name === 'bot') return 'bot';
  if (userType === '0' || name === 'system') return 'system';
  return 'agent';
}

const NAME_MAX = 120;

function firstName(...candidates: (string | undefined)[]): string | undefined {
  for (const c of candidates) {
    const t = clip(c, NAME_MAX);
    if (t && !/^(undefined|null|none)$/i.test(t)) return t;
  }
  return undefined;
}

const DEFAULT_NAMES: Record<ParticipantKind, string> = {
  consumer: 'Consumer',
  agent: 'Agent',
  bot: 'Bot',
  system: 'System',
};

export class ParticipantIndex {
  readonly list: Participant[] = [];
  private readonly byId = new Map<string, Participant>();

  constructor(
    private readonly record: ConversationRecord,
    private readonly users: UsersDirectory | undefined,
    private readonly domain: string,
  ) {
    this.addConsumers();
    this.addAgents();
  }

  get(id: string | undefined): Participant | undefined {
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** The participant behind a message, added on the fly when only the message names them. */
  forMessage(participantId: string | undefined, sentBy: string | undefined): Participant {
    const known = this.get(participantId);
    if (known) return known;
    const by = sentBy?.toLowerCase();
    const consumer = by === 'consumer';
    if (participantId === undefined) {
      // No id: attribute to the only consumer / a generic sender, never invent several people.
      const fallback = consumer ? this.list.find((p) => p.kind === 'consumer') : undefined;
      if (fallback) return fallback;
      if (by === 'system') return this.add('unknown-system', 'SYSTEM', 'system', undefined);
      return consumer
        ? this.add('unknown-consumer', 'CONSUMER', 'consumer', undefined)
        : this.add('unknown-agent', 'AGENT', 'agent', undefined);
    }
    if (consumer) return this.add(participantId, 'CONSUMER', 'consumer', undefined);
    return this.addAgent(participantId, by === 'system' ? { userTypeName: 'System' } : {});
  }

  private add(
    id: string,
    role: string,
    kind: ParticipantKind,
    name: string | undefined,
    extra: { email?: string; deleted?: boolean; loginName?: string } = {},
  ): Participant {
    const existing = this.byId.get(id);
    if (existing) return existing;
    const address = validEmail(extra.email);
    const p: Participant = {
      id,
      role,
      kind,
      name: name ?? DEFAULT_NAMES[kind],
      address: address ?? `${kind === 'consumer' ? 'consumer' : 'agent'}-${safeToken(id)}@${this.domain}`,
      synthetic: address === undefined,
    };
    if (extra.deleted) p.deleted = true;
    if (extra.loginName) p.loginName = extra.loginName;
    this.byId.set(id, p);
    this.list.push(p);
    return p;
  }

  private addConsumers() {
    const rec = this.record;
    const sdeContacts: string[] = [];
    let sdeName: string | undefined;
    for (const ev of lpList(rec.sdes?.events)) {
      const info = ev.personalInfo?.personalInfo;
      if (!info) continue;
      sdeName ??= firstName([lpText(info.name), lpText(info.surname)].filter(Boolean).join(' '));
      for (const c of lpList(info.contacts)) {
        const email = validEmail(lpText(c.personalContact?.email));
        if (email) sdeContacts.push(email);
      }
    }
    const consumers = [...lpList(rec.consumerParticipants), ...lpList(rec.consumerParticipant)];
    for (const c of consumers) {
      const id = lpText(c.participantId) ?? 'unknown-consumer';
      const full = [lpText(c.firstName), lpText(c.lastName)].filter(Boolean).join(' ');
      const name = firstName(full, lpText(c.consumerName), consumers.length === 1 ? sdeName : undefined);
      // The SDE belongs to the conversation's (single) consumer; with several consumers it is ambiguous.
      const email = validEmail(lpText(c.email)) ?? (consumers.length === 1 ? sdeContacts[0] : undefined);
      this.add(id, 'CONSUMER', 'consumer', name, { email });
    }
  }

  private addAgents() {
    for (const a of lpList(this.record.agentParticipants)) {
      const id = lpText(a.agentId);
      if (id === undefined) continue;
      this.addAgent(id, {
        agentFullName: lpText(a.agentFullName),
        agentNickname: lpText(a.agentNickname),
        agentLoginName: lpText(a.agentLoginName),
        role: lpText(a.role),
        userType: lpText(a.userType),
        userTypeName: lpText(a.userTypeName),
        agentDeleted: lpBool(a.agentDeleted),
      });
    }
    const info = this.record.info;
    const latest = lpText(info.latestAgentId);
    if (latest !== undefined && !this.byId.has(latest)) {
      this.addAgent(latest, {
        agentFullName: lpText(info.latestAgentFullName),
        agentNickname: lpText(info.latestAgentNickname),
      });
    }
  }

  private addAgent(
    id: string,
    a: {
      agentFullName?: string;
      agentNickname?: string;
      agentLoginName?: string;
      role?: string;
      userType?: string;
      userTypeName?: string;
      agentDeleted?: boolean;
    },
  ): Participant {
    const user = this.users?.get(id);
    const kind = kindOf(a.userType ?? user?.userTypeId ?? user?.userType, a.userTypeName);
    const role = headerText(a.role).toUpperCase() || (kind === 'agent' ? 'AGENT' : kind.toUpperCase());
    const name = firstName(
      user?.fullName,
      a.agentFullName,
      a.agentNickname,
      user?.nickname,
      a.agentLoginName,
      user?.loginName,
    );
    const login = [user?.loginName, a.agentLoginName].find((l) => l !== undefined && !isPlaceholder(l));
    return this.add(id, role, kind, name, {
      email: user?.email,
      deleted: a.agentDeleted || user?.deleted,
      loginName: login,
    });
  }
}
