// Events of users and tokens (src/auth): who may do what, and the tokens they sign in with.
import { z } from 'zod';
import { at, defineEvent, nonEmpty, str } from './define.ts';

const owner = 'auth';

export const authEvents = [
  defineEvent({
    type: 'user.created',
    owner,
    meaning: 'a person or service account was added, with its roles',
    data: z.strictObject({ name: nonEmpty, kind: z.enum(['user', 'service']), roles: z.array(str) }),
  }),
  defineEvent({
    type: 'user.roles.changed',
    owner,
    meaning: 'a user\'s roles changed (previous: the roles before)',
    data: z.strictObject({ name: nonEmpty, roles: z.array(str), previous: z.array(str) }),
  }),
  defineEvent({
    type: 'token.issued',
    owner,
    meaning: 'an API token was issued to a user (only its sha256 is recorded)',
    data: z.strictObject({ tokenId: nonEmpty, user: nonEmpty, sha256: str, label: str, expiresAt: at.nullable() }),
  }),
  defineEvent({
    type: 'token.revoked',
    owner,
    meaning: 'an API token was revoked',
    data: z.strictObject({ tokenId: nonEmpty, user: nonEmpty }),
  }),
] as const;
