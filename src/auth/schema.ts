// The `access:` section of greenlight.yaml: extra or changed roles, and per environment which roles
// hold each of its permissions and what its approvals and break-glass need.
import { z } from 'zod';
import { duration } from '../config/duration.ts';

const permission = z.enum(['read', 'release', 'incident.manage', 'alerts.send', 'users.manage', 'controller.shutdown', 'deploy', 'break_glass', 'approve', 'silence', 'acknowledge'], {
  message: 'unknown permission; one of read, release, incident.manage, alerts.send, users.manage, controller.shutdown, deploy, break_glass, approve, silence, acknowledge',
});
const roleName = z.string().regex(/^[a-z][a-z0-9_-]*$/, { message: 'a role name uses a-z, 0-9, "-" and "_"' });
const roles = z.array(roleName).min(1);

export const environmentAccessSchema = z.strictObject({
  deploy: roles.optional(),
  break_glass: roles.optional(),
  approve: roles.optional(),
  silence: roles.optional(),
  acknowledge: roles.optional(),
  /** approvals from people other than the requester needed before the switch in this environment */
  approvals: z
    .strictObject({
      required: z.int().min(1).max(10),
      /** a request nobody approved within this long expires (the deployment stops before any traffic moves) */
      timeout: duration.default(3_600_000),
    })
    .optional(),
  /** what a break-glass here needs besides a reason: a second person's approval, or a review item in the incident's postmortem */
  break_glass_review: z.enum(['approval', 'postmortem']).default('postmortem'),
});

export const accessConfigSchema = z
  .strictObject({
    /** role name -> permissions; replaces a built-in role of the same name (viewer, deployer, approver, admin) */
    roles: z.record(roleName, z.array(permission)).default({}),
    environments: z.record(z.string(), environmentAccessSchema).default({}),
  })
  .superRefine((c, ctx) => {
    const known = new Set(['viewer', 'deployer', 'approver', 'admin', ...Object.keys(c.roles)]);
    for (const [env, spec] of Object.entries(c.environments)) {
      for (const [perm, list] of Object.entries(spec)) {
        if (!Array.isArray(list)) continue;
        list.forEach((r, i) => {
          if (!known.has(r)) ctx.addIssue({ code: 'custom', path: ['environments', env, perm, i], message: `unknown role "${r}"`, params: { hint: `roles: ${[...known].join(', ')}` } });
        });
      }
    }
  });

export type AccessConfig = z.output<typeof accessConfigSchema>;
export type EnvironmentAccess = z.output<typeof environmentAccessSchema>;
