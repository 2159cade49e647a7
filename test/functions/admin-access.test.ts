import { describe, expect, it } from 'vitest';
import { checkAdminAccess } from '../../lib/app/admin-access.js';

const GROUP = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
const principal = (claims: { typ: string; val: string }[]) =>
  Buffer.from(JSON.stringify({ auth_typ: 'aad', claims })).toString('base64');
const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });

describe('checkAdminAccess', () => {
  it('with ADMIN_SIGN_IN=entra refuses a request that App Service Authentication did not sign in', () => {
    expect(checkAdminAccess(headers({}), { ADMIN_SIGN_IN: 'entra' })).toMatchObject({
      allowed: false,
      status: 401,
    });
    expect(
      checkAdminAccess(headers({ 'x-ms-client-principal': 'not base64 json' }), { ADMIN_SIGN_IN: 'entra' }),
    ).toMatchObject({
      allowed: false,
      status: 401,
    });
  });

  it('checks membership of the allowed group from the principal’s claims', () => {
    const member = principal([
      { typ: 'preferred_username', val: 'admin@bank.example' },
      { typ: 'groups', val: GROUP.toUpperCase() },
    ]);
    const outsider = principal([
      { typ: 'preferred_username', val: 'someone@bank.example' },
      { typ: 'groups', val: 'x' },
    ]);
    const s = { ADMIN_SIGN_IN: 'entra' as const, ADMIN_ALLOWED_GROUP: GROUP };
    expect(checkAdminAccess(headers({ 'x-ms-client-principal': member }), s)).toEqual({
      allowed: true,
      user: 'admin@bank.example',
    });
    expect(checkAdminAccess(headers({ 'x-ms-client-principal': outsider }), s)).toMatchObject({
      allowed: false,
      status: 403,
    });
    const overage = principal([{ typ: '_claim_names', val: '{"groups":"src1"}' }]);
    expect(checkAdminAccess(headers({ 'x-ms-client-principal': overage }), s)).toMatchObject({
      allowed: false,
      message: expect.stringMatching(/group overage/),
    });
  });

  it('is open locally (ADMIN_SIGN_IN=none), where the host listens on loopback only', () => {
    expect(checkAdminAccess(headers({}), { ADMIN_SIGN_IN: 'none' }).allowed).toBe(true);
  });
});
