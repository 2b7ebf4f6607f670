// People and tokens over the API: who am I, users and service accounts, their tokens (the secret
// is in the response of the request that made it, and nowhere else), revocation.
import { GreenlightError } from '../errors/errors.ts';
import type { Directory } from '../auth/directory.ts';
import { actorOf, knownRole, type Policy } from '../auth/permissions.ts';
import { parseDuration } from '../config/duration.ts';
import type { Request, Routes } from './http.ts';

export function authRoutes(routes: Routes, deps: { directory: Directory; policy: Policy }): Routes {
  const { directory, policy } = deps;
  const body = (req: Request) => (req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});
  const who = (req: Request) => actorOf(req.identity!);
  const rolesOf = (b: Record<string, unknown>): string[] => {
    if (!Array.isArray(b.roles) || b.roles.length === 0 || !b.roles.every((r) => typeof r === 'string')) {
      throw new GreenlightError('USAGE', '"roles" must be a non-empty list of role names', { hint: `roles: ${Object.keys(policy.roles).join(', ')}` });
    }
    for (const r of b.roles) knownRole(policy, r);
    return [...new Set(b.roles as string[])];
  };
  const expiry = (b: Record<string, unknown>): number | undefined => {
    if (b.expiresIn === undefined || b.expiresIn === null) return undefined;
    const ms = typeof b.expiresIn === 'number' ? b.expiresIn : typeof b.expiresIn === 'string' ? parseDuration(b.expiresIn) : undefined;
    if (ms === undefined || !(ms > 0)) throw new GreenlightError('USAGE', '"expiresIn" must be a duration such as 30d or 12h');
    return ms;
  };
  return routes
    .add('GET', '/v1/whoami', async (req) => {
      const id = req.identity!;
      return { ...id, actor: actorOf(id), permissions: Object.fromEntries(Object.entries(policy.roles).filter(([r]) => id.roles.includes(r))) };
    })
    .add('GET', '/v1/users', async () => ({ users: [...directory.users.values()].map((u) => directory.view(u)) }))
    .add('POST', '/v1/users', async (req) => {
      const b = body(req);
      if (typeof b.name !== 'string') throw new GreenlightError('USAGE', '"name" is required');
      const kind = b.kind === 'service' ? 'service' : 'user';
      const user = await directory.createUser({ name: b.name, kind, roles: rolesOf(b) }, who(req));
      const ms = expiry(b);
      const { token, record } = await directory.issueToken(user.name, { ...(ms ? { expiresInMs: ms } : {}), label: 'first' }, who(req));
      return { status: 201, body: { user: directory.view(user), token, tokenId: record.id, note: 'the token is shown once: hand it to its owner (greenlight login)' } };
    })
    .add('POST', '/v1/users/:name/roles', async (req) => ({ user: directory.view(await directory.setRoles(req.params.name!, rolesOf(body(req)), who(req))) }))
    .add('POST', '/v1/users/:name/tokens', async (req) => {
      const b = body(req);
      const ms = expiry(b);
      const { token, record } = await directory.issueToken(req.params.name!, { ...(ms ? { expiresInMs: ms } : {}), ...(typeof b.label === 'string' ? { label: b.label.slice(0, 64) } : {}) }, who(req));
      return { status: 201, body: { token, tokenId: record.id, expiresAt: record.expiresAt } };
    })
    .add('POST', '/v1/tokens/:id/revoke', async (req) => {
      const t = directory.tokens.get(req.params.id!);
      const own = t && req.identity!.kind !== undefined && t.user === req.identity!.name && !req.identity!.bootstrap;
      if (!own) policy.require(req.identity!, [{ permission: 'users.manage' }]);
      const r = await directory.revokeToken(req.params.id!, who(req));
      return { token: { id: r.id, user: r.user, revokedAt: r.revokedAt, revokedBy: r.revokedBy } };
    });
}
