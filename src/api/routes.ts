// The controller's HTTP JSON API (v1). The CLI and the dashboard use only this.
import { approvalLinkRoutes } from './approval-link-routes.ts';
import { catalogueJsonSchema } from '../events/catalogue/index.ts';
import { seriesOf } from './series.ts';
import type { ApiContext } from './context.ts';
import { registerRelease } from '../releases/releases.ts';
import { GreenlightError } from '../errors/errors.ts';
import type { EventFilter } from '../events/log.ts';
import { Routes, STREAMING, type Request } from './http.ts';
import { followEvents } from './sse.ts';
import { statusOf } from './status.ts';
import { incidentRoutes } from './incident-routes.ts';
import { alertingRoutes } from './alerting-routes.ts';
import { dashboardRoutes } from './dashboard.ts';
import { authRoutes } from './auth-routes.ts';
import { requirementsOf, type PermissionContext } from './permissions.ts';
import { actorOf as actorOfIdentity } from '../auth/permissions.ts';
import type { Auth } from './http.ts';
import { drillRoutes } from './drill-routes.ts';
import { defaultDrillsConfig } from '../drills/schema.ts';
import { recordInventory, runNamedChange } from '../app/fleet-ops.ts';

export function apiRoutes(c: ApiContext): Routes {
  // The actor of every event is who authenticated; a header saying otherwise is ignored.
  const actorOf = (req: Request) => (req.identity ? actorOfIdentity(req.identity) : 'controller');
  const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
  const requireString = (b: Record<string, unknown>, key: string): string => {
    const v = b[key];
    if (typeof v !== 'string' || !v.trim()) throw new GreenlightError('USAGE', `"${key}" is required`);
    return v.trim();
  };

  const routes = new Routes();
  incidentRoutes(routes, { events: c.events, clock: c.clock, actorOf });
  // A signed page link acts as the person it was sent to: when that person is a Greenlight user,
  // their roles apply (a user who lost "acknowledge" cannot act through an old link). On-call people
  // who are not Greenlight users act by the signature alone, as the link was made for them.
  const authorizeLink = (by: string | undefined, pageId: string) => {
    const user = by ? c.directory.users.get(by) : undefined;
    if (!user) return undefined;
    const labels = c.operations.alerting?.escalations.get(pageId)?.notification.labels;
    const env = labels?.environment ?? labels?.env;
    const envs = env && c.config.environments.some((e) => e.name === env) ? [env] : c.config.environments.map((e) => e.name);
    const identity = { name: user.name, kind: user.kind, roles: user.roles };
    const missing = envs.find((environment) => !c.policy.allows(identity, { permission: 'acknowledge', environment }));
    return missing ? `${user.kind}:${user.name} (roles: ${user.roles.join(', ') || 'none'}) lacks the permission "acknowledge" in ${missing}` : undefined;
  };
  alertingRoutes(routes, { alerting: () => c.operations.alerting, clock: c.clock, actorOf, authorizeLink });
  approvalLinkRoutes(routes, { approvals: () => c.approvals, events: c.events, clock: c.clock, secret: () => c.operations.alerting?.links?.secret, actorOf });
  dashboardRoutes(routes, { peers: async () => (await c.leadership?.controllers()) ?? [] });
  authRoutes(routes, { directory: c.directory, policy: c.policy });
  drillRoutes(routes, { events: c.events, clock: c.clock, drills: () => c.drills, schedule: () => c.drillSchedule, config: () => c.config.drills ?? defaultDrillsConfig(), baseDir: c.loaded.baseDir, actorOf });
  return routes
    .add(
      'GET',
      '/v1/health',
      async (req) => {
        // Public and readable from any origin (no credentials involved): an open dashboard whose
        // controller went away asks the other controllers of the store who leads now.
        req.res.setHeader('access-control-allow-origin', '*');
        const lease = await c.leader().catch(() => undefined);
        const controllers = (await c.leadership?.controllers().catch(() => undefined)) ?? [c.url];
        return { ok: true, service: 'greenlight-controller', role: c.role(), leader: lease?.live ? lease.address : null, controllers };
      },
      { public: true },
    )
    .add('GET', '/v1/status', async () => statusOf(c))
    .add('GET', '/v1/releases', async () => ({ releases: [...c.state.view.releases.values()] }))
    .add('POST', '/v1/releases', async (req) => {
      const b = body(req);
      const requires = (b.requires ?? {}) as Record<string, string>;
      const { release, created } = await registerRelease(
        { service: requireString(b, 'service'), version: requireString(b, 'version'), artifact: requireString(b, 'artifact'), requires, actor: actorOf(req) },
        { config: c.config, stateDir: c.loaded.stateDir, events: c.events, state: async () => c.state.view },
      );
      return { status: created ? 201 : 200, body: { release, created } };
    })
    .add('POST', '/v1/changes', async (req) => {
      const b = body(req);
      const result = await runNamedChange(c.fleet, {
        name: requireString(b, 'change'),
        actor: actorOf(req),
        force: b.force === true,
        ...(typeof b.reason === 'string' ? { reason: b.reason } : {}),
        ...(Array.isArray(b.environments) ? { only: b.environments as string[] } : {}),
      });
      return { status: 200, body: result };
    })
    .add('POST', '/v1/inventory', async () => {
      // on demand: every fleet environment read now, recorded (and drift raised) like the schedule
      const environments = [];
      for (const env of c.config.environments) {
        const inv = await recordInventory(c.fleet, env.name);
        if (inv) environments.push(inv);
      }
      return { environments };
    })
    .add('GET', '/v1/deployments', async () => ({ deployments: [...c.state.view.deployments.values()].reverse() }))
    .add('GET', '/v1/deployments/:id', async (req) => {
      const d = c.state.view.deployments.get(req.params.id!);
      if (!d) throw new GreenlightError('NOT_FOUND', `no deployment ${req.params.id}`);
      return d;
    })
    .add('GET', '/v1/deployments/:id/series', async (req) => {
      const d = c.state.view.deployments.get(req.params.id!);
      if (!d) throw new GreenlightError('NOT_FOUND', `no deployment ${req.params.id}`);
      return seriesOf(await c.events.query({ subject: `deployment/${d.id}` }));
    })
    .add('POST', '/v1/deployments', async (req) => {
      const b = body(req);
      const handle = await c.deployer.start({
        service: requireString(b, 'service'),
        version: requireString(b, 'version'),
        actor: actorOf(req),
        force: b.force === true,
        ...(typeof b.reason === 'string' ? { reason: b.reason } : {}),
        ...(Array.isArray(b.environments) ? { only: b.environments as string[] } : {}),
      });
      handle.done.catch(() => undefined);
      return { status: 202, body: { id: handle.id } };
    })
    .add('POST', '/v1/deployments/:id/approve', async (req) => {
      const comment = typeof body(req).comment === 'string' ? String(body(req).comment).slice(0, 500) : undefined;
      return { approval: await c.approvals.approve(req.params.id!, actorOf(req), comment) };
    })
    .add('POST', '/v1/deployments/:id/reject', async (req) => ({ approval: await c.approvals.reject(req.params.id!, actorOf(req), requireString(body(req), 'reason').slice(0, 500)) }))
    .add('POST', '/v1/services/:service/abort', async (req) => {
      const id = c.deployer.abort(req.params.service!, actorOf(req));
      if (!id) throw new GreenlightError('NOT_FOUND', `no deployment of ${req.params.service} is running`);
      return { aborted: id };
    })
    .add('POST', '/v1/services/:service/pause', async (req) => ({ deployment: await c.deployer.command(req.params.service!, 'pause', actorOf(req)) }))
    .add('POST', '/v1/services/:service/resume', async (req) => ({ deployment: await c.deployer.command(req.params.service!, 'resume', actorOf(req)) }))
    .add('POST', '/v1/services/:service/promote', async (req) => ({
      deployment: await c.deployer.command(req.params.service!, body(req).full === true ? 'full' : 'next', actorOf(req)),
    }))
    .add('POST', '/v1/services/:service/rollback', async (req) => {
      const b = body(req);
      const service = req.params.service!;
      const envName = typeof b.environment === 'string' ? b.environment : c.config.environments.at(-1)!.name;
      const target = typeof b.to === 'string' ? b.to : previousVersion(c, envName, service);
      if (!target) throw new GreenlightError('NOT_FOUND', `no earlier version of ${service} ran in ${envName}`, { hint: 'name one with --to <version>' });
      const handle = await c.deployer.start({ service, version: target, actor: actorOf(req), only: [envName], rollback: true, ...(typeof b.reason === 'string' ? { reason: b.reason } : {}) });
      handle.done.catch(() => undefined);
      return { status: 202, body: { id: handle.id, version: target, environment: envName } };
    })
    .add('POST', '/v1/shutdown', async (req) => {
      if (!c.onShutdown) throw new GreenlightError('USAGE', 'this controller was not started by greenlight up and cannot be shut down over the API');
      const stopAll = body(req).stopAll === true;
      setImmediate(() => c.onShutdown!(stopAll));
      return { stopping: true, stopAll };
    })
    .add('GET', '/v1/events', async (req) => ({ events: await c.events.query(filterFrom(req.query)) }))
    // the vocabulary of the log, as JSON Schema (draft 2020-12): one entry per event type
    .add('GET', '/v1/events/catalogue', async () => catalogueJsonSchema())
    .add('GET', '/v1/events/stream', async (req) => {
      await followEvents(c.events, filterFrom(req.query), req.raw, req.res);
      return STREAMING;
    });
}

export function filterFrom(q: URLSearchParams): EventFilter {
  const f: EventFilter = {};
  const types = q.getAll('type').flatMap((t) => t.split(',')).filter(Boolean);
  if (types.length) f.types = types;
  if (q.get('subject')) f.subject = q.get('subject')!;
  const num = (k: string) => {
    const v = q.get(k);
    if (v === null) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new GreenlightError('USAGE', `query parameter ${k} must be a number`);
    return n;
  };
  const afterSeq = num('afterSeq');
  if (afterSeq !== undefined) f.afterSeq = afterSeq;
  const since = num('since');
  if (since !== undefined) f.since = since;
  const limit = num('limit');
  if (limit !== undefined) f.limit = limit;
  if (q.get('order') === 'desc') f.descending = true;
  return f;
}

function previousVersion(c: ApiContext, env: string, service: string): string | undefined {
  const current = c.state.view.stable.get(`${env}/${service}`)?.version;
  const passed = [...c.state.view.passed.entries()]
    .filter(([k]) => k.startsWith(`${env}/${service}@`))
    .map(([k, v]) => ({ version: k.slice(`${env}/${service}@`.length), at: v.at }))
    .filter((p) => p.version !== current)
    .sort((a, b) => b.at - a.at);
  return passed[0]?.version;
}

/** The controller's authentication (user and service tokens, the bootstrap token) and its per-route permissions. */
export function apiAuth(c: ApiContext): Auth {
  const ctx: PermissionContext = {
    environments: () => c.config.environments.map((e) => e.name),
    deploymentEnvironments: (id) => {
      // approving is about the environment waiting for it
      const waiting = c.approvals.get(id)?.environment;
      return waiting ? [waiting] : c.state.view.deployments.get(id)?.environments.map((e) => e.name);
    },
    runningEnvironments: (service) => {
      const id = c.deployer.runningDeployment(service);
      return id ? c.state.view.deployments.get(id)?.environments.map((e) => e.name) : undefined;
    },
    silenceMatchers: (id) => c.operations.alerting?.silences.get(id)?.matchers,
    pageLabels: (id) => c.operations.alerting?.escalations.get(id)?.notification.labels,
    incidentEnvironment: async (id) => {
      const first = (await c.events.query({ subject: `incident/${id}`, limit: 1 }))[0];
      const env = (first?.data as { environment?: unknown } | undefined)?.environment;
      return typeof env === 'string' ? env : undefined;
    },
    drillEnvironment: () => c.drills.running()?.environment,
  };
  return {
    authenticate: (t) => c.directory.authenticate(t),
    refusal: (t) => c.directory.refusal(t),
    limiter: c.loginLimiter,
    authorize: async (route, req, identity) => c.policy.require(identity, await requirementsOf(route, req, ctx)),
  };
}
