/**
 * Who may read the log and the status page through the sign-in routes. In Azure, App Service
 * Authentication (Entra ID) stands in front of them and passes the signed-in user as the
 * `x-ms-client-principal` header, which the platform sets itself and strips from client requests. With
 * ADMIN_SIGN_IN=entra a request without it is refused (defence in depth, should the front door be
 * switched off), and with ADMIN_ALLOWED_GROUP the principal must carry that group's object id in its
 * `groups` claims. The automation routes (/api/automation/...) use function keys instead.
 */
import { z } from 'zod';

export interface AdminAccessSettings {
  ADMIN_SIGN_IN: 'entra' | 'none';
  ADMIN_ALLOWED_GROUP?: string | undefined;
}

const PrincipalSchema = z.looseObject({
  auth_typ: z.string().optional(),
  claims: z.array(z.looseObject({ typ: z.string(), val: z.string() })).default([]),
});

export type AdminAccess =
  | { allowed: true; user: string }
  | { allowed: false; status: 401 | 403; message: string };

export function checkAdminAccess(
  headers: { get(name: string): string | null },
  settings: AdminAccessSettings,
): AdminAccess {
  if (settings.ADMIN_SIGN_IN === 'none') return { allowed: true, user: 'anonymous (ADMIN_SIGN_IN=none)' };
  const raw = headers.get('x-ms-client-principal');
  if (!raw) return { allowed: false, status: 401, message: 'sign-in required (App Service Authentication)' };
  let principal: z.infer<typeof PrincipalSchema>;
  try {
    principal = PrincipalSchema.parse(JSON.parse(Buffer.from(raw, 'base64').toString('utf8')));
  } catch {
    return { allowed: false, status: 401, message: 'the signed-in principal could not be read' };
  }
  const claim = (typ: string) => principal.claims.filter((c) => c.typ === typ).map((c) => c.val);
  const user =
    claim('preferred_username')[0] ??
    claim('http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn')[0] ??
    claim('name')[0] ??
    'signed-in user';
  const group = settings.ADMIN_ALLOWED_GROUP?.toLowerCase();
  if (group) {
    const groups = [
      ...claim('groups'),
      ...claim('http://schemas.microsoft.com/ws/2008/06/identity/claims/groups'),
    ];
    if (!groups.some((g) => g.toLowerCase() === group)) {
      const overage = claim('_claim_names').length > 0 || claim('hasgroups').length > 0;
      return {
        allowed: false,
        status: 403,
        message: overage
          ? 'your token lists too many groups to check membership (group overage): use a group-assigned app role or fewer groups'
          : 'you are not in the group allowed to read the archive log',
      };
    }
  }
  return { allowed: true, user };
}
