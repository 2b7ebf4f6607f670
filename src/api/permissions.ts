// What each API route needs, in one table: "METHOD /pattern" -> the permissions (and, for the
// per-environment ones, the environments) a request needs. The HTTP layer refuses a route missing
// from this table, and src/app/api-permissions.test.ts enumerates the routes from the router itself against it
// for every role, so a new route cannot be forgotten open.
import { z } from 'zod';
import { GreenlightError } from '../errors/errors.ts';
import { matcherInput, type Matcher } from '../alerting/dispatch/matchers.ts';
import type { Requirement } from '../auth/permissions.ts';
import type { Request, RouteInfo } from './http.ts';

/** What the table needs to know about the controller to place a request in an environment. */
export interface PermissionContext {
  /** every environment, in pipeline order */
  environments(): string[];
  /** the environments a deployment goes through */
  deploymentEnvironments(id: string): string[] | undefined;
  /** the environments of the running deployment of a service */
  runningEnvironments(service: string): string[] | undefined;
  silenceMatchers(id: string): Matcher[] | undefined;
  pageLabels(id: string): Record<string, string> | undefined;
  incidentEnvironment(id: string): Promise<string | undefined>;
  /** the environment of the drill running now */
  drillEnvironment(): string | undefined;
}

type Rule = (req: Request, ctx: PermissionContext) => Requirement[] | Promise<Requirement[]>;

const read: Rule = () => [{ permission: 'read' }];
const global = (permission: Requirement['permission']): Rule => () => [{ permission }];
const inEach = (permission: Requirement['permission'], envs: string[]): Requirement[] => envs.map((environment) => ({ permission, environment }));
const body = (req: Request) => (req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});

/** An alert's environment from its labels; an alert (or silence) not tied to one concerns them all. */
function envsFromLabels(labels: Record<string, string> | undefined, all: string[]): string[] {
  const env = labels?.environment ?? labels?.env;
  return env && all.includes(env) ? [env] : all;
}

function envsFromMatchers(matchers: Matcher[] | undefined, all: string[]): string[] {
  const exact = (matchers ?? []).filter((m) => (m.name === 'environment' || m.name === 'env') && m.op === '=').map((m) => m.value);
  return exact.length === 1 && all.includes(exact[0]!) ? [exact[0]!] : all;
}

const deployTargets = (req: Request, ctx: PermissionContext): string[] => {
  const b = body(req);
  const only = Array.isArray(b.environments) ? (b.environments as unknown[]).filter((e): e is string => typeof e === 'string') : [];
  return only.length ? only.filter((e) => ctx.environments().includes(e)) : ctx.environments();
};

const rolloutControl: Rule = (req, ctx) => inEach('deploy', ctx.runningEnvironments(req.params.service!) ?? ctx.environments());
const pageAction: Rule = (req, ctx) => inEach('acknowledge', envsFromLabels(ctx.pageLabels(req.params.id!), ctx.environments()));
const incidentAck: Rule = async (req, ctx) => {
  const env = await ctx.incidentEnvironment(req.params.id!);
  return inEach('acknowledge', env && ctx.environments().includes(env) ? [env] : ctx.environments());
};

export const ROUTE_PERMISSIONS: Record<string, Rule> = {
  'GET /v1/status': read,
  'GET /v1/whoami': read,
  'GET /v1/releases': read,
  'POST /v1/releases': global('release'),
  'GET /v1/deployments': read,
  'GET /v1/deployments/:id': read,
  'GET /v1/deployments/:id/series': read,
  'POST /v1/deployments': (req, ctx) => {
    const envs = deployTargets(req, ctx);
    // a break-glass may override the gate of any environment it goes through
    return [...inEach('deploy', envs), ...(body(req).force === true ? inEach('break_glass', envs) : [])];
  },
  // a host change goes through the same gate as a release: deploy, and break_glass to force it
  'POST /v1/changes': (req, ctx) => {
    const envs = deployTargets(req, ctx);
    return [...inEach('deploy', envs), ...(body(req).force === true ? inEach('break_glass', envs) : [])];
  },
  // reads every host now and records it (drift raises alerts): an operation, not a plain read
  'POST /v1/inventory': (_req, ctx) => inEach('deploy', ctx.environments()),
  'POST /v1/deployments/:id/approve': (req, ctx) => inEach('approve', ctx.deploymentEnvironments(req.params.id!) ?? ctx.environments()),
  // the link's environment, as the signed body names it (the signature is checked by the route)
  'POST /v1/approvals/link': (req, ctx) => inEach('approve', typeof body(req).environment === 'string' && ctx.environments().includes(body(req).environment as string) ? [body(req).environment as string] : ctx.environments()),
  'POST /v1/deployments/:id/reject': (req, ctx) => inEach('approve', ctx.deploymentEnvironments(req.params.id!) ?? ctx.environments()),
  'POST /v1/services/:service/abort': rolloutControl,
  'POST /v1/services/:service/pause': rolloutControl,
  'POST /v1/services/:service/resume': rolloutControl,
  'POST /v1/services/:service/promote': rolloutControl,
  'POST /v1/services/:service/rollback': (req, ctx) => {
    const env = body(req).environment;
    return inEach('deploy', [typeof env === 'string' ? env : ctx.environments().at(-1)!]);
  },
  'POST /v1/shutdown': global('controller.shutdown'),
  'GET /v1/events': read,
  'GET /v1/events/stream': read,
  'GET /v1/events/catalogue': read,
  // people and tokens
  'GET /v1/users': global('users.manage'),
  'POST /v1/users': global('users.manage'),
  'POST /v1/users/:name/roles': global('users.manage'),
  'POST /v1/users/:name/tokens': global('users.manage'),
  'POST /v1/tokens/:id/revoke': read, // one's own token; anyone else's needs users.manage (checked by the handler)
  // incidents
  'GET /v1/incidents': read,
  'GET /v1/incidents/:id': read,
  'GET /v1/incidents/:id/postmortem': read,
  'POST /v1/incidents': global('incident.manage'),
  'POST /v1/incidents/:id/acknowledge': incidentAck,
  'POST /v1/incidents/:id/mitigate': global('incident.manage'),
  'POST /v1/incidents/:id/resolve': global('incident.manage'),
  'POST /v1/incidents/:id/notes': global('incident.manage'),
  'POST /v1/incidents/:id/root-cause': global('incident.manage'),
  'POST /v1/incidents/:id/severity': global('incident.manage'),
  // alerting
  'GET /v1/alerts': read,
  'POST /v1/alerts': global('alerts.send'),
  'POST /v1/alerts/alertmanager': global('alerts.send'),
  'GET /v1/silences': read,
  'POST /v1/silences': (req, ctx) => {
    const parsed = z.array(matcherInput).safeParse(body(req).matchers);
    return inEach('silence', envsFromMatchers(parsed.success ? parsed.data : undefined, ctx.environments()));
  },
  'POST /v1/silences/:id/expire': (req, ctx) => inEach('silence', envsFromMatchers(ctx.silenceMatchers(req.params.id!), ctx.environments())),
  'GET /v1/pages': read,
  'POST /v1/pages/:id/acknowledge': pageAction,
  'POST /v1/pages/:id/resolve': pageAction,
  'POST /v1/pages/:id/snooze': pageAction,
  'GET /v1/oncall': read,
  // drills inject real (bounded) faults into an environment: as much a change as a deployment
  'GET /v1/drills': read,
  'GET /v1/drills/:id': read,
  'GET /v1/drills/:id/report': read,
  'GET /v1/drills/from-incident/:id': read,
  'POST /v1/drills': (req, ctx) => {
    const env = body(req).environment;
    return inEach('deploy', typeof env === 'string' && ctx.environments().includes(env) ? [env] : ctx.environments());
  },
  'POST /v1/drills/stop': (_req, ctx) => {
    const env = ctx.drillEnvironment();
    return inEach('deploy', env ? [env] : ctx.environments());
  },
};

export function routeKey(r: Pick<RouteInfo, 'method' | 'pattern'>): string {
  return `${r.method} ${r.pattern}`;
}

/** The requirements of one request; a route missing from the table is refused (closed by default). */
export async function requirementsOf(route: RouteInfo, req: Request, ctx: PermissionContext): Promise<Requirement[]> {
  const rule = ROUTE_PERMISSIONS[routeKey(route)];
  if (!rule) {
    throw new GreenlightError('FORBIDDEN', `${routeKey(route)} has no entry in the permission table, so nobody may call it`, { hint: 'add it to ROUTE_PERMISSIONS in src/api/permissions.ts', data: { missing: 'route-permission' } });
  }
  return rule(req, ctx);
}
