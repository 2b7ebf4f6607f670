// Who may do what. A permission is either global (read, register releases, manage users, ...) or
// held per environment (deploy, break the glass, approve, silence, acknowledge). Roles are sets of
// permissions; the built-in four can be changed and others added in greenlight.yaml (`access.roles`),
// and each environment may say which roles hold each of its permissions (`access.environments`).
import { GreenlightError } from '../errors/errors.ts';
import type { AccessConfig } from './schema.ts';

export const GLOBAL_PERMISSIONS = ['read', 'release', 'incident.manage', 'alerts.send', 'users.manage', 'controller.shutdown'] as const;
export const ENVIRONMENT_PERMISSIONS = ['deploy', 'break_glass', 'approve', 'silence', 'acknowledge'] as const;
export type GlobalPermission = (typeof GLOBAL_PERMISSIONS)[number];
export type EnvironmentPermission = (typeof ENVIRONMENT_PERMISSIONS)[number];
export type Permission = GlobalPermission | EnvironmentPermission;
export const PERMISSIONS: readonly Permission[] = [...GLOBAL_PERMISSIONS, ...ENVIRONMENT_PERMISSIONS];

export const BUILTIN_ROLES: Record<string, Permission[]> = {
  viewer: ['read'],
  deployer: ['read', 'release', 'incident.manage', 'alerts.send', 'deploy', 'silence', 'acknowledge'],
  approver: ['read', 'incident.manage', 'approve', 'silence', 'acknowledge'],
  admin: [...PERMISSIONS],
};

export function isEnvironmentPermission(p: Permission): p is EnvironmentPermission {
  return (ENVIRONMENT_PERMISSIONS as readonly string[]).includes(p);
}

/** Who is calling: a person, or a service account (CI), authenticated by its own token. */
export interface Identity {
  name: string;
  kind: 'user' | 'service';
  roles: string[];
  /** the token used (absent for the bootstrap token) */
  tokenId?: string;
  /** the first-start token in <state_dir>/token */
  bootstrap?: boolean;
}

/** The actor recorded in events: never what the caller claims, always who authenticated. */
export function actorOf(identity: Identity): string {
  return `${identity.kind}:${identity.name}`;
}

/** One thing a request needs: a permission, in an environment for the per-environment ones. */
export interface Requirement {
  permission: Permission;
  environment?: string;
}

export class Policy {
  readonly roles: Record<string, Permission[]>;
  private readonly environments: AccessConfig['environments'];

  constructor(config: AccessConfig = { roles: {}, environments: {} }) {
    this.roles = { ...BUILTIN_ROLES, ...(config.roles as Record<string, Permission[]>) };
    this.environments = config.environments;
  }

  /** the roles that hold a permission (in an environment, after its overrides) */
  rolesFor(permission: Permission, environment?: string): string[] {
    if (environment && isEnvironmentPermission(permission)) {
      const override = this.environments[environment]?.[permission];
      if (override) return override;
    }
    return Object.entries(this.roles).filter(([, perms]) => perms.includes(permission)).map(([r]) => r);
  }

  allows(identity: Identity, req: Requirement): boolean {
    const holders = this.rolesFor(req.permission, req.environment);
    return identity.roles.some((r) => holders.includes(r));
  }

  /** throws FORBIDDEN naming the first missing permission */
  require(identity: Identity, reqs: Requirement[]): void {
    for (const r of reqs) {
      if (this.allows(identity, r)) continue;
      const where = r.environment ? ` in ${r.environment}` : '';
      const holders = this.rolesFor(r.permission, r.environment);
      throw new GreenlightError('FORBIDDEN', `${actorOf(identity)} (roles: ${identity.roles.join(', ') || 'none'}) lacks the permission "${r.permission}"${where}`, {
        hint: holders.length
          ? `roles holding it${where}: ${holders.join(', ')}; an admin can grant one (greenlight user roles ${identity.name} <role...>)`
          : `no role holds it${where}: see access.roles and access.environments in greenlight.yaml`,
        data: { missing: r.permission, ...(r.environment ? { environment: r.environment } : {}) },
      });
    }
  }
}

export function knownRole(policy: Policy, role: string): void {
  if (!(role in policy.roles)) throw new GreenlightError('USAGE', `unknown role "${role}"`, { hint: `roles: ${Object.keys(policy.roles).join(', ')}` });
}
