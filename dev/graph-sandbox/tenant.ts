/**
 * The sandbox tenant's directory: Entra users (some with an Exchange Online mailbox), their ids, and the
 * default population built from the LivePerson sandbox's agents so that every lookup path occurs: email =
 * UPN = mail, email only in `mail`, email only in `proxyAddresses` (secondary smtp:), a LivePerson user with no
 * Microsoft 365 account, a user without a mailbox, and a fallback mailbox.
 */
import { z } from 'zod';
import { USERS } from '../sandbox/directory.js';
import { GraphError } from './errors.js';
import { stableGuid } from './ids.js';

export const DEFAULT_FOLDER_NAME = 'LivePerson Conversational Cloud DataParser';
export const DEFAULT_FOLDER_PATH: readonly string[] = ['Inbox', DEFAULT_FOLDER_NAME];

export const GraphUserSpecSchema = z.object({
  userPrincipalName: z.string().regex(/^[A-Za-z0-9'._!#^~-]+@[A-Za-z0-9.-]+$/, 'not a valid UPN'),
  /** Default: the UPN when the user has a mailbox, else null. */
  mail: z.string().includes('@').nullable().optional(),
  /** Default: ['SMTP:<mail>'] (none without mail). */
  proxyAddresses: z.array(z.string().regex(/^(SMTP|smtp|X500|x500|SIP|sip|SPO|spo):.+$/)).optional(),
  displayName: z.string().min(1).optional(),
  /** Has an Exchange Online mailbox (default true); false: mailbox calls answer 404 MailboxNotEnabledForRESTAPI. */
  hasMailbox: z.boolean().optional(),
  accountEnabled: z.boolean().optional(),
  /** Default: a GUID derived from the seed and the UPN. */
  id: z.string().uuid().optional(),
});
export type GraphUserSpec = z.input<typeof GraphUserSpecSchema>;

export interface DirectoryUser {
  id: string;
  userPrincipalName: string;
  mail: string | null;
  proxyAddresses: string[];
  displayName: string;
  hasMailbox: boolean;
  accountEnabled: boolean;
}

/** Addresses in the default population that exercise each lookup path (tests and `npm start` use them). */
export const DEFAULT_USER_ROLES = {
  /** LivePerson email is the user's `mail`; the UPN differs. */
  mailOnly: 'li.wei@brand.example',
  /** LivePerson email is only a secondary proxy address; `mail`/UPN/primary SMTP is another address. */
  proxyOnly: 'dmitry.ivanov@brand.example',
  /** LivePerson email matches case-insensitively only (UPN and mail are stored with capitals). */
  mixedCase: 'noa.levi@brand.example',
  /** An Entra user without an Exchange Online mailbox. */
  noMailbox: 'paused.agent@brand.example',
  /** A LivePerson agent (deleted there) with no Microsoft 365 account at all. */
  noAccount: 'former.agent@brand.example',
  /** Where items go whose participants have no mailbox. */
  fallback: 'archive-fallback@brand.example',
} as const;

/**
 * The default users: one per human, non-deleted, non-API LivePerson sandbox user with an email address,
 * varied as described in DEFAULT_USER_ROLES, plus the fallback mailbox. `tenantDomain` names the
 * `.onmicrosoft` domain of the UPNs that differ from the email and the fallback mailbox's domain.
 */
export function defaultGraphUsers(options: { tenantDomain?: string } = {}): GraphUserSpec[] {
  const tenantDomain = options.tenantDomain ?? 'brand.example';
  const initial = tenantDomain.split('.')[0];
  const onMicrosoft = `${initial}.onmicrosoft.example`;
  const out: GraphUserSpec[] = [];
  for (const u of USERS) {
    if (u.deleted || u.userTypeId !== 1 || u.isApiUser || !u.email.includes('@')) continue;
    const email = u.email;
    const base = { displayName: u.fullName };
    if (email === DEFAULT_USER_ROLES.mailOnly) {
      out.push({
        ...base,
        userPrincipalName: `e${u.employeeId.replace(/\D/g, '')}@${onMicrosoft}`,
        mail: email,
      });
    } else if (email === DEFAULT_USER_ROLES.proxyOnly) {
      const primary = 'd.ivanov@brand.example';
      out.push({
        ...base,
        userPrincipalName: primary,
        mail: primary,
        proxyAddresses: [`SMTP:${primary}`, `smtp:${email}`, `smtp:${u.loginName}@${onMicrosoft}`],
      });
    } else if (email === DEFAULT_USER_ROLES.mixedCase) {
      out.push({ ...base, userPrincipalName: 'Noa.Levi@brand.example', mail: 'Noa.Levi@brand.example' });
    } else if (email === DEFAULT_USER_ROLES.noMailbox) {
      out.push({ ...base, userPrincipalName: email, mail: null, proxyAddresses: [], hasMailbox: false });
    } else {
      out.push({ ...base, userPrincipalName: email, mail: email });
    }
  }
  out.push({
    userPrincipalName: `archive-fallback@${tenantDomain}`,
    mail: `archive-fallback@${tenantDomain}`,
    displayName: 'LivePerson archive (unmapped participants)',
  });
  return out;
}

export function buildDirectory(specs: readonly GraphUserSpec[], seed: number): DirectoryUser[] {
  const seen = new Set<string>();
  return specs.map((raw, i) => {
    const parsed = GraphUserSpecSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(
        `graph-sandbox: users[${i}] (${String((raw as { userPrincipalName?: unknown }).userPrincipalName)}): ` +
          `${issue?.path.join('.') || 'user'} ${issue?.message}`,
      );
    }
    const s = parsed.data;
    const upnKey = s.userPrincipalName.toLowerCase();
    if (seen.has(upnKey))
      throw new Error(`graph-sandbox: users[${i}]: duplicate userPrincipalName ${s.userPrincipalName}`);
    seen.add(upnKey);
    const hasMailbox = s.hasMailbox ?? true;
    const mail = s.mail === undefined ? (hasMailbox ? s.userPrincipalName : null) : s.mail;
    return {
      id: s.id ?? stableGuid(seed, `user:${upnKey}`),
      userPrincipalName: s.userPrincipalName,
      mail,
      proxyAddresses: s.proxyAddresses ?? (mail ? [`SMTP:${mail}`] : []),
      displayName: s.displayName ?? s.userPrincipalName.split('@')[0]!,
      hasMailbox,
      accountEnabled: s.accountEnabled ?? true,
    };
  });
}

/** The address a mailbox is known by in read-back, stats and the mirror: its mail, else its UPN. */
export function primaryAddress(u: DirectoryUser): string {
  return (u.mail ?? u.userPrincipalName).toLowerCase();
}

/** Properties Graph returns for a user without $select. */
const DEFAULT_USER_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
] as const;

const SELECTABLE_USER_PROPERTIES = new Set<string>([
  ...DEFAULT_USER_PROPERTIES,
  'proxyAddresses',
  'accountEnabled',
]);

export function userSelection(select: string[] | undefined): string[] {
  if (!select) return [...DEFAULT_USER_PROPERTIES];
  return select.map((p) => {
    const known = [...SELECTABLE_USER_PROPERTIES].find((k) => k.toLowerCase() === p.toLowerCase());
    if (!known) {
      throw new GraphError(
        400,
        'Request_BadRequest',
        `Could not find a property named '${p}' on type 'Microsoft.DirectoryServices.User'.`,
      );
    }
    return known;
  });
}

export function userJson(u: DirectoryUser, properties: readonly string[]): Record<string, unknown> {
  const [given, ...rest] = u.displayName.split(' ');
  const all: Record<string, unknown> = {
    businessPhones: [],
    displayName: u.displayName,
    givenName: given ?? null,
    jobTitle: null,
    mail: u.mail,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname: rest.length ? rest.join(' ') : null,
    userPrincipalName: u.userPrincipalName,
    id: u.id,
    proxyAddresses: u.proxyAddresses,
    accountEnabled: u.accountEnabled,
  };
  const out: Record<string, unknown> = {};
  for (const p of properties) out[p] = all[p];
  return out;
}
