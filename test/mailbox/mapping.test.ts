import { describe, expect, it } from 'vitest';
import type { ResolvedMailbox } from '../../lib/mailbox/directory.js';
import { mapParticipants, type Resolver } from '../../lib/mailbox/mapping.js';
import { EMPTY_MAPPING, parseMappingCsv } from '../../lib/mailbox/mapping-csv.js';

/** A tenant directory in memory: the mapping's own Graph lookups are tested against the Graph sandbox. */
function tenant(users: Record<string, string>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async resolve(address: string): Promise<ResolvedMailbox | undefined> {
      asked.push(address);
      const id = users[address.toLowerCase()];
      return id ? { userId: id, address: address.toLowerCase(), via: 'upn' } : undefined;
    },
  };
}

const settings = { deliverToConsumers: false, tenantDomains: [] as string[] };

describe('mapping CSV', () => {
  it('reads id, login and e-mail keys; reports bad lines with their number and field; drops conflicts', () => {
    const t = parseMappingCsv(
      '\uFEFFLivePerson,Microsoft365\r\n3677470410,jane@bank.example\nomar.haddad,Omar.H@bank.example\n,x@y.example\nli.wei,not-an-address\ndup,a@bank.example\ndup,b@bank.example\n',
    );
    expect([...t.entries]).toEqual([
      ['3677470410', 'jane@bank.example'],
      ['omar.haddad', 'omar.h@bank.example'],
    ]);
    expect(t.problems.map((p) => [p.line, p.field])).toEqual([
      [4, 'liveperson'],
      [5, 'microsoft365'],
      [7, 'liveperson'],
    ]);
    expect(parseMappingCsv('a,b\n1,x@y.example\n').problems[0]?.message).toMatch(
      /first line must name the columns/,
    );
  });
});

describe('mapParticipants', () => {
  it('maps agents automatically, applies overrides, skips consumers and outsiders, dedupes mailboxes', async () => {
    const dir = tenant({ 'jane@bank.example': 'u-jane', 'omar@bank.example': 'u-omar' });
    const out = await mapParticipants(
      [
        { id: 'c1', role: 'CONSUMER', address: 'ann@gmail.example' },
        { id: 'a1', role: 'AGENT', address: 'jane@bank.example', loginName: 'jane' },
        { id: 'a2', role: 'AGENT', loginName: 'omar.h' }, // no address at LivePerson: the mapping file has it
        { id: 'a3', role: 'AGENT', address: 'JANE@bank.example' }, // same mailbox again
        { id: 'a4', role: 'MANAGER', address: 'boss@partner.example' },
        { id: 'b1', role: 'BOT' },
      ],
      {
        overrides: parseMappingCsv('liveperson,m365\nomar.h,omar@bank.example\n'),
        directory: dir,
        settings: { ...settings, tenantDomains: ['bank.example'] },
      },
    );
    expect(out.mailboxes.map((m) => [m.userId, m.participants, m.how])).toEqual([
      ['u-jane', ['a1', 'a3'], 'automatic'],
      ['u-omar', ['a2'], 'mapping file'],
    ]);
    expect(out.notMapped.map((n) => n.reason)).toEqual([
      'consumers are not delivered to (DELIVER_TO_CONSUMERS is off)',
      "boss@partner.example is outside the tenant's domains (TENANT_DOMAINS)",
      'no e-mail address at LivePerson and no line in the mapping file',
    ]);
    expect(dir.asked).not.toContain('boss@partner.example');
  });

  it('sends an item with no mapped participant to the fallback mailbox, or leaves it unmapped', async () => {
    const dir = tenant({ 'archive@bank.example': 'u-fallback' });
    const who = [{ id: 'a1', role: 'AGENT', address: 'gone@bank.example' }];
    const withFallback = await mapParticipants(who, {
      overrides: EMPTY_MAPPING,
      directory: dir,
      settings: { ...settings, fallbackMailbox: 'archive@bank.example' },
    });
    expect(withFallback.mailboxes).toMatchObject([{ userId: 'u-fallback', how: 'fallback' }]);
    const without = await mapParticipants(who, { overrides: EMPTY_MAPPING, directory: dir, settings });
    expect(without.mailboxes).toEqual([]);
    expect(without.notMapped[0]?.reason).toBe('no Microsoft 365 mailbox for gone@bank.example');
  });

  it('delivers to consumers only when DELIVER_TO_CONSUMERS is on', async () => {
    const dir = tenant({ 'ann@bank.example': 'u-ann' });
    const out = await mapParticipants([{ id: 'c1', role: 'CONSUMER', address: 'ann@bank.example' }], {
      overrides: EMPTY_MAPPING,
      directory: dir,
      settings: { ...settings, deliverToConsumers: true },
    });
    expect(out.mailboxes.map((m) => m.userId)).toEqual(['u-ann']);
  });
});
