/**
 * Who took part in a conversation and at which address each of them receives the archived item.
 * Agents' addresses come from the Users API directory (deleted users included); consumers' from their
 * profile or the personal-info SDE. Whoever has no real address gets a stable synthetic one, so every
 * participant is still an addressee and re-runs address the same mailboxes.
 */
import type { ConversationRecord } from '../liveperson/record.js';
import type { UsersDirectory } from '../liveperson/users-schema.js';
import { clip, headerText, safeToken, validEmail } from './text.js';

export interface Participant {
  id: string;
  /** CONSUMER, AGENT, MANAGER, BOT, … (upper case). */
  role: string;
  name: string;
  address: string;
  synthetic: boolean;
  deleted?: boolean;
}

/** Lower-case role label for transcripts. */
export function roleLabel(role: string): string {
  return role.toLowerCase().replace(/_/g, ' ');
}

const isBot = (userType?: string, userTypeName?: string) =>
  userType === '2' || userTypeName?.toLowerCase() === 'bot';

const NAME_MAX = 120;

function firstName(...candidates: (string | undefined)[]): string | undefined {
  for (const c of candidates) {
    const t = clip(c, NAME_MAX);
    if (t && !/^(undefined|null|none)$/i.test(t)) return t;
  }
  return undefined;
}

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
    const consumer = sentBy?.toLowerCase() === 'consumer';
    if (participantId === undefined) {
      // No id: attribute to the only consumer / a generic sender, never invent several people.
      const fallback = consumer ? this.list.find((p) => p.role === 'CONSUMER') : undefined;
      if (fallback) return fallback;
      return this.add(
        consumer ? 'unknown-consumer' : 'unknown-agent',
        consumer ? 'CONSUMER' : 'AGENT',
        undefined,
      );
    }
    return consumer ? this.add(participantId, 'CONSUMER', undefined) : this.addAgent(participantId, {});
  }

  private add(
    id: string,
    role: string,
    name: string | undefined,
    email?: string,
    deleted?: boolean,
  ): Participant {
    const existing = this.byId.get(id);
    if (existing) return existing;
    const consumer = role === 'CONSUMER';
    const address = validEmail(email);
    const p: Participant = {
      id,
      role,
      name:
        name ?? (consumer ? 'Consumer' : role === 'BOT' ? 'Bot' : role === 'MANAGER' ? 'Manager' : 'Agent'),
      address: address ?? `${consumer ? 'consumer' : 'agent'}-${safeToken(id)}@${this.domain}`,
      synthetic: address === undefined,
    };
    if (deleted) p.deleted = true;
    this.byId.set(id, p);
    this.list.push(p);
    return p;
  }

  private addConsumers() {
    const rec = this.record;
    const sdeContacts: string[] = [];
    let sdeName: string | undefined;
    for (const ev of rec.sdes?.events ?? []) {
      const info = ev.personalInfo?.personalInfo;
      if (!info) continue;
      sdeName ??= firstName([info.name, info.surname].filter(Boolean).join(' '));
      for (const c of info.contacts ?? []) {
        const email = validEmail(c.personalContact?.email);
        if (email) sdeContacts.push(email);
      }
    }
    const consumers = [...(rec.consumerParticipants ?? []), ...(rec.consumerParticipant ?? [])];
    for (const c of consumers) {
      const id = c.participantId ?? 'unknown-consumer';
      const full = [c.firstName, c.lastName].filter(Boolean).join(' ');
      const name = firstName(full, c.consumerName, consumers.length === 1 ? sdeName : undefined);
      // The SDE belongs to the conversation's (single) consumer; with several consumers it is ambiguous.
      const email = validEmail(c.email) ?? (consumers.length === 1 ? sdeContacts[0] : undefined);
      this.add(id, 'CONSUMER', name, email);
    }
  }

  private addAgents() {
    for (const a of this.record.agentParticipants ?? []) {
      if (a.agentId === undefined) continue;
      this.addAgent(a.agentId, a);
    }
    const info = this.record.info;
    if (info.latestAgentId && !this.byId.has(info.latestAgentId)) {
      this.addAgent(info.latestAgentId, {
        agentFullName: info.latestAgentFullName,
        agentNickname: info.latestAgentNickname,
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
    const bot = isBot(a.userType ?? user?.userTypeId ?? user?.userType, a.userTypeName);
    const role = headerText(a.role).toUpperCase() || (bot ? 'BOT' : 'AGENT');
    const name = firstName(
      user?.fullName,
      a.agentFullName,
      a.agentNickname,
      user?.nickname,
      a.agentLoginName,
      user?.loginName,
    );
    return this.add(id, role, name, user?.email, a.agentDeleted || user?.deleted);
  }
}
