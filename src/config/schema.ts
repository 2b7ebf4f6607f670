// The shape of greenlight.yaml. Each module owns the schema of its own part (checks, targets,
// dependency sources, rollout analysis, monitors, notifiers); this file composes them, adds the
// cross-field rules and fills defaults. Strict objects everywhere: an unknown key is an error.
import { z } from 'zod';
import { duration } from './duration.ts';
import { componentSchemas } from './components.ts';
import { refineDrills } from '../drills/schema.ts';
import { DEFAULT_HEALTH_CHECK, healthCheckProblems, worstDetectionMs, type HealthCheckOptions } from '../router/health.ts';

const NAME = /^[a-z][a-z0-9_-]*$/;
const name = (what: string) =>
  z.string().regex(NAME, { message: `${what} must start with a lowercase letter and use only a-z, 0-9, "-" and "_"` });

export const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, {
    message: 'expected "host:port", e.g. "127.0.0.1:8080" or "[::1]:8080"',
  })
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return Number.isNaN(port) || (port > 0 && port < 65536);
  }, { message: 'port must be between 1 and 65535' });

export const serviceSchema = z.strictObject({
  description: z.string().optional(),
  command: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  env: z.record(z.string(), z.string()).default({}),
  health: z
    .strictObject({
      path: z.string().startsWith('/', { message: 'must start with "/"' }).default('/healthz'),
      timeout: duration.default(30_000),
      interval: duration.default(100),
    })
    .default({ path: '/healthz', timeout: 30_000, interval: 100 }),
  instances: z.int().min(1).max(64).default(2),
  stop_grace: duration.default(10_000),
  /** a JSON file inside the artifact: { "requires": { "acme-auth": ">=3.0.0 <4" } } */
  requirements_file: z.string().default('greenlight.requires.json'),
  /** service level objectives, with multi-window multi-burn-rate alerts */
  slos: componentSchemas.slos.default([]),
});

const headerOrCookieName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'must be a header or cookie name (1-128 token characters)');

/** what identifies a client, so it stays on one version (see README, "Who gets the canary") */
const identitySchema = z.discriminatedUnion('from', [
  z.strictObject({ from: z.literal('greenlight') }),
  z.strictObject({ from: z.literal('cookie'), name: headerOrCookieName }),
  z.strictObject({ from: z.literal('header'), name: headerOrCookieName }),
  z.strictObject({ from: z.literal('address') }),
]);

/**
 * The built-in router's active health checks of its upstreams (src/router/health.ts explains the
 * defaults: a host that stops answering is out of rotation within 750 ms at worst).
 */
const routerHealthSchema = z
  .strictObject({
    /** requested with GET on every upstream; default: the service's health.path. Any HTTP answer is alive. */
    path: z.string().startsWith('/', { message: 'must start with "/"' }).optional(),
    interval: duration.default(DEFAULT_HEALTH_CHECK.intervalMs),
    timeout: duration.default(DEFAULT_HEALTH_CHECK.timeoutMs),
    /** unanswered probes in a row before an upstream leaves rotation */
    fall: z.int().min(1).max(10).default(DEFAULT_HEALTH_CHECK.fall),
    /** answered probes in a row before it comes back */
    rise: z.int().min(1).max(10).default(DEFAULT_HEALTH_CHECK.rise),
  })
  .superRefine((h, ctx) => {
    for (const problem of healthCheckProblems({ path: h.path ?? '/', intervalMs: h.interval, timeoutMs: h.timeout, fall: h.fall, rise: h.rise })) {
      ctx.addIssue({ code: 'custom', message: problem, params: { hint: `the defaults (interval ${DEFAULT_HEALTH_CHECK.intervalMs}ms, timeout ${DEFAULT_HEALTH_CHECK.timeoutMs}ms, fall ${DEFAULT_HEALTH_CHECK.fall}, rise ${DEFAULT_HEALTH_CHECK.rise}) take a silent host out within ${worstDetectionMs(DEFAULT_HEALTH_CHECK)} ms` } });
    }
  });

const routerSchema = z.strictObject({
  listen: listenAddress,
  /** the router's admin API (stats, routing table); a free loopback port is picked when absent */
  admin: listenAddress.optional(),
  /** client identity hashed for the canary assignment: Greenlight's cookie (default), a session cookie, a header or the address */
  identity: identitySchema.default({ from: 'greenlight' }),
  health_check: routerHealthSchema.default({ interval: DEFAULT_HEALTH_CHECK.intervalMs, timeout: DEFAULT_HEALTH_CHECK.timeoutMs, fall: DEFAULT_HEALTH_CHECK.fall, rise: DEFAULT_HEALTH_CHECK.rise }),
});

export const switchSchema = z.strictObject({
  /** how long post-switch checks keep watching before the switch is final */
  verify_for: duration.default(0),
  /** after traffic leaves a version, its instances keep running this long so requests already routed finish */
  drain: duration.default(1000),
});

export const environmentSchema = z.strictObject({
  name: name('an environment name'),
  description: z.string().optional(),
  target: componentSchemas.target.prefault({ kind: 'local' }),
  /** before any user request reaches new instances, they answer the environment's http checks (or GET /) directly; false turns it off */
  synthetic_checks: z.boolean().default(true),
  /** what splits traffic between versions: the built-in router (default, configured under router:) or HAProxy */
  traffic: componentSchemas.traffic.default({ kind: 'builtin' }),
  /** the built-in router, one per service: either {listen, admin} (one service) or a map service -> {listen, admin}; not with traffic kind haproxy */
  router: z.union([routerSchema, z.record(z.string(), routerSchema)]).optional(),
  /** overrides the service's instance count in this environment */
  instances: z.int().min(1).max(64).optional(),
  /** environment variables for the service's instances here, over the service's own env */
  env: z.record(z.string(), z.string()).default({}),
  checks: z.array(z.string()).default([]),
  dependencies: z.record(z.string(), componentSchemas.dependencySource).default({}),
  switch: switchSchema.default({ verify_for: 0, drain: 1000 }),
  rollout: componentSchemas.rollout.optional(),
  monitors: componentSchemas.monitors.optional(),
});

export const configSchema = z
  .strictObject({
    version: z.literal(1, { message: 'expected version: 1' }),
    state_dir: z.string().default('.greenlight'),
    /** where the event log lives: `{ kind: sqlite }` (default, <state_dir>/events.db) or `{ kind: postgres, url }` */
    store: componentSchemas.store.default({ kind: 'sqlite', path: 'events.db' }),
    controller: z
      .strictObject({
        listen: listenAddress.default('127.0.0.1:7070'),
        /** a router that dies this many times within crash_loop_window is escalated (paging alert) and restarted with a back-off */
        router_crash_loop: z
          .strictObject({ deaths: z.int().min(2).max(1000).default(3), window: duration.default(60_000) })
          .default({ deaths: 3, window: 60_000 }),
      })
      .default({ listen: '127.0.0.1:7070', router_crash_loop: { deaths: 3, window: 60_000 } }),
    services: z.record(name('a service name'), serviceSchema).refine((s) => Object.keys(s).length > 0, {
      message: 'at least one service is needed',
    }),
    environments: z.array(environmentSchema).min(1, { message: 'at least one environment is needed' }),
    checks: z.record(name('a check name'), componentSchemas.check).default({}),
    alerting: componentSchemas.alerting.optional(),
    drills: componentSchemas.drills.optional(),
    /** declared changes of the hosts (greenlight change <name>): apply, verify, undo, waves */
    changes: componentSchemas.changes,
    audit: componentSchemas.audit.default({}),
    access: componentSchemas.access.default({ roles: {}, environments: {} }),
    releases: componentSchemas.releases,
  })
  .superRefine((cfg, ctx) => {
    refineDrills(cfg, ctx);
    refineChangeHosts(cfg, ctx);
    const services = Object.keys(cfg.services);
    const seenEnv = new Map<string, number>();
    const seenListen = new Map<string, string>();
    const claim = (addr: string | undefined, path: PropertyKey[], what: string) => {
      if (!addr) return;
      const other = seenListen.get(addr);
      if (other) ctx.addIssue({ code: 'custom', path, message: `${addr} is already used by ${other}`, params: { hint: 'give each router and the controller its own port' } });
      else seenListen.set(addr, what);
    };
    claim(cfg.controller.listen, ['controller', 'listen'], 'controller.listen');
    const envNames = cfg.environments.map((e) => e.name);
    for (const env of Object.keys(cfg.access.environments)) {
      if (!envNames.includes(env)) ctx.addIssue({ code: 'custom', path: ['access', 'environments', env], message: `unknown environment "${env}"`, params: { hint: `environments: ${envNames.join(', ')}` } });
    }
    cfg.environments.forEach((env, i) => {
      const prev = seenEnv.get(env.name);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['environments', i, 'name'], message: `environment "${env.name}" is defined twice (also at environments[${prev}])` });
      seenEnv.set(env.name, i);
      env.checks.forEach((c, j) => {
        if (!(c in cfg.checks)) {
          ctx.addIssue({
            code: 'custom',
            path: ['environments', i, 'checks', j],
            message: `unknown check "${c}"`,
            params: { hint: Object.keys(cfg.checks).length ? `defined checks: ${Object.keys(cfg.checks).join(', ')}` : 'define it under the top-level "checks:" key' },
          });
        }
      });
      refineWaves(env, i, ctx);
      if (env.traffic.kind !== 'builtin') {
        if (env.router !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['environments', i, 'router'], message: `router: is the built-in router's, and this environment's traffic goes through ${env.traffic.kind}`, params: { hint: 'remove router: here, or use traffic: { kind: builtin }' } });
        }
        if (services.length > 1) {
          ctx.addIssue({ code: 'custom', path: ['environments', i, 'traffic'], message: `traffic kind ${env.traffic.kind} drives one backend, and there are ${services.length} services`, params: { hint: 'use it with a configuration of one service, or the built-in router (traffic: { kind: builtin })' } });
        }
        return;
      }
      if (env.router === undefined) {
        ctx.addIssue({ code: 'custom', path: ['environments', i, 'router'], message: 'the built-in router needs router: { listen: "host:port" }', params: { hint: 'e.g. router: { listen: "127.0.0.1:8081" }, or traffic: { kind: haproxy, ... }' } });
      } else if (isSingleRouter(env.router)) {
        if (services.length > 1) {
          ctx.addIssue({ code: 'custom', path: ['environments', i, 'router'], message: 'with several services, router must map each service to its own {listen, admin}', params: { hint: `e.g. router: { ${services[0]}: { listen: "127.0.0.1:8081" } }` } });
        }
        claim(env.router.listen, ['environments', i, 'router', 'listen'], `environments[${i}].router.listen`);
        claim(env.router.admin, ['environments', i, 'router', 'admin'], `environments[${i}].router.admin`);
      } else {
        for (const [svc, r] of Object.entries(env.router)) {
          if (!services.includes(svc)) ctx.addIssue({ code: 'custom', path: ['environments', i, 'router', svc], message: `unknown service "${svc}"`, params: { hint: `services: ${services.join(', ')}` } });
          claim(r.listen, ['environments', i, 'router', svc, 'listen'], `environments[${i}].router.${svc}.listen`);
          claim(r.admin, ['environments', i, 'router', svc, 'admin'], `environments[${i}].router.${svc}.admin`);
        }
        for (const svc of services) {
          if (!(svc in env.router)) ctx.addIssue({ code: 'custom', path: ['environments', i, 'router'], message: `no router for service "${svc}"` });
        }
      }
    });
  });

/**
 * A change's `hosts:` selector must pick hosts in every environment with hosts: an environment where
 * it picks none "passes" without a host changed, and that vacuous pass would open the gate to the
 * next environment (an untested change straight into production, the 3 June story).
 */
function refineChangeHosts(cfg: { changes: Record<string, { hosts: Record<string, string> }>; environments: z.infer<typeof environmentSchema>[] }, ctx: z.RefinementCtx): void {
  const fleets = cfg.environments.flatMap((env) => {
    const hosts = (env.target as { hosts?: { name: string; labels?: Record<string, string> }[] }).hosts;
    return env.target.kind === 'ssh' && hosts ? [{ name: env.name, hosts }] : [];
  });
  for (const [name, change] of Object.entries(cfg.changes)) {
    const wanted = Object.entries(change.hosts);
    if (wanted.length === 0) continue;
    const selector = wanted.map(([k, v]) => `${k}=${v}`).join(', ');
    for (const env of fleets) {
      if (env.hosts.some((h) => wanted.every(([k, v]) => h.labels?.[k] === v))) continue;
      const labelled = env.hosts.map((h) => `${h.name}${h.labels && Object.keys(h.labels).length ? ` (${Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(', ')})` : ''}`).join(', ');
      ctx.addIssue({
        code: 'custom',
        path: ['changes', name, 'hosts'],
        message: `no host of environment ${env.name} has the labels ${selector}: the change would pass ${env.name} without changing a host`,
        params: { hint: `label the hosts it is for (hosts[].labels) in ${env.name}; its hosts: ${labelled}` },
      });
    }
  }
}

/** rollout.waves needs hosts to go in waves, and a canary selection that names some of them */
function refineWaves(env: z.infer<typeof environmentSchema>, i: number, ctx: z.RefinementCtx): void {
  const waves = env.rollout?.waves;
  if (!waves) return;
  const path = ['environments', i, 'rollout', 'waves'];
  const hosts = (env.target as { hosts?: { name: string; labels?: Record<string, string> }[] }).hosts;
  if (env.target.kind !== 'ssh' || !hosts) {
    ctx.addIssue({ code: 'custom', path, message: `releases in waves go host by host, and target kind "${env.target.kind}" has no hosts`, params: { hint: 'use target: { kind: ssh, hosts: [...] }, or remove rollout.waves' } });
    return;
  }
  const c = waves.canary;
  if ('hosts' in c && c.hosts > hosts.length) {
    ctx.addIssue({ code: 'custom', path: [...path, 'canary', 'hosts'], message: `the canary cannot run on ${c.hosts} hosts: the target has ${hosts.length}`, params: { hint: `at most ${hosts.length}; usually 1` } });
  }
  if ('labels' in c) {
    const match = hosts.filter((h) => Object.entries(c.labels).every(([k, v]) => h.labels?.[k] === v));
    if (match.length === 0) {
      ctx.addIssue({ code: 'custom', path: [...path, 'canary', 'labels'], message: `no host of the target has the labels ${Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(', ')}`, params: { hint: `label a host (hosts[].labels), or pick one of: ${hosts.map((h) => h.name).join(', ')}` } });
    }
  }
}

function isSingleRouter(r: unknown): r is z.infer<typeof routerSchema> {
  return typeof r === 'object' && r !== null && 'listen' in r && typeof (r as { listen: unknown }).listen === 'string';
}

export type Config = z.infer<typeof configSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
export type EnvironmentConfig = z.infer<typeof environmentSchema>;
export type RouterConfig = z.infer<typeof routerSchema>;

/** The health checks the router of `service` runs (its path defaults to the service's health path). */
export function routerHealthCheck(r: RouterConfig, service: ServiceConfig): HealthCheckOptions {
  const h = r.health_check;
  return { path: h.path ?? service.health.path, intervalMs: h.interval, timeoutMs: h.timeout, fall: h.fall, rise: h.rise };
}

/** The built-in router of a service in an environment, whichever of the two forms the config used. */
export function routerFor(env: EnvironmentConfig, service: string): RouterConfig {
  if (!env.router) throw new Error(`environment ${env.name} has no built-in router (its traffic goes through ${env.traffic.kind})`);
  if (isSingleRouter(env.router)) return env.router;
  const r = (env.router as Record<string, RouterConfig>)[service];
  if (!r) throw new Error(`environment ${env.name} has no router for ${service}`);
  return r;
}

