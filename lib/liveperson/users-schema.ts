/**
 * Users API entities (le-users/users), as the converter and the client both use them. Tolerant: LivePerson
 * sends booleans and ids as strings or numbers depending on the version, and unknown fields are kept.
 */
import { z } from 'zod';

const idLike = z.union([z.string(), z.number()]).transform((v) => String(v));
const boolLike = z
  .union([z.boolean(), z.string(), z.number()])
  .transform((v) => v === true || v === 'true' || v === 1 || v === '1');

export const UserEntitySchema = z
  .object({
    id: idLike,
    pid: z.string().optional(),
    deleted: boolLike.optional(),
    loginName: z.string().optional(),
    fullName: z.string().optional(),
    nickname: z.string().optional(),
    email: z.string().optional(),
    employeeId: z.string().optional(),
    isEnabled: boolLike.optional(),
    isApiUser: boolLike.optional(),
    userType: idLike.optional(),
    userTypeId: idLike.optional(),
  })
  .loose();

export type UserEntity = z.infer<typeof UserEntitySchema>;

export const UsersResponseSchema = z.array(UserEntitySchema);

/** Agent id (= Messaging Interactions agentId / participantId) → Users API entity. */
export type UsersDirectory = ReadonlyMap<string, UserEntity>;

export function usersDirectory(users: readonly UserEntity[]): UsersDirectory {
  return new Map(users.map((u) => [u.id, u]));
}
