// The composition root: builds every module from the configuration, starts the routers (data
// plane), adopts the instances still running from before, recovers deployments a crash cut off,
// and serves the API. The controller decides; it is never in the path of user requests.
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { systemClock, type Clock } from '../clock/clock.ts';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import { routerFor, routerHealthCheck, type Config } from '../config/schema.ts';
import type { Check } from '../checks/check.ts';
import { createCheck } from '../checks/registry.ts';
import type { EventLog } from '../events/log.ts';
import { describeStore, openEventLog, storeSpec } from '../store/registry.ts';
import type { PostgresEventLog } from '../store/postgres/postgres-event-log.ts';
import { Leadership, type LeaseHolder } from '../leadership/lease.ts';
import { standbyHandler } from '../leadership/standby.ts';
import { LiveState } from '../state/projection.ts';
import { createTarget } from '../targets/registry.ts';
import type { Target } from '../targets/target.ts';
import { Deployer } from '../rollout/deployer.ts';
import { recoverInterruptedDeployments } from '../rollout/recovery.ts';
import { reconcileEnvironment, watchTables } from '../rollout/reconcile.ts';
import { fleetOf } from '../fleet/fleet.ts';
import type { EnvironmentRuntime, Runtime, ServiceRuntime } from '../rollout/runtime.ts';
import { TrafficControl } from '../rollout/traffic.ts';
import { BuiltinProvider } from '../traffic/builtin/provider.ts';
import { createTrafficProvider } from '../traffic/registry.ts';
import type { TrafficProvider } from '../traffic/provider.ts';
import { DependencyFaults } from '../checks/compatibility/faults.ts';
import { formatIdentity } from '../router/assignment.ts';
import { formatHealthCheck } from '../router/health.ts';
import { syntheticChecks } from '../rollout/synthetic.ts';
import { RouterProcesses } from './routers.ts';
import { ensureRouterToken, ensureToken, routerTokenPath } from './token.ts';
import { secureStateDir } from './state-dir.ts';
import { refuseEmptyLogFile, refuseShortLog } from './log-evidence.ts';
import { RouterSupervisor } from './router-supervisor.ts';
import type { IncomingAlert } from '../alerting/alerts/alert.ts';
import { splitHostPort, urlOf } from './free-port.ts';
import { apiAuth, apiRoutes } from '../api/routes.ts';
import { Directory } from '../auth/directory.ts';
import { Approvals } from '../approvals/approvals.ts';
import { Policy } from '../auth/permissions.ts';
import { FailureLimiter } from '../auth/rate-limit.ts';
import { GreenlightError } from '../errors/errors.ts';
import { startOperations, type Operations } from './operations.ts';
import { DrillRunner } from '../drills/runner.ts';
import { drillScheduler } from '../drills/wire.ts';
import type { DrillScheduler } from '../drills/schedule.ts';
import { defaultDrillsConfig } from '../drills/schema.ts';
import { Incidents } from '../incidents/incidents.ts';
import { scheduleInventory, type FleetDeps } from './fleet-ops.ts';
import { CHAIN_HINT, verifyChain } from '../audit/chain.ts';
import { startHeadWebhook } from '../audit/head-webhook.ts';

export interface ControllerOptions {
  configPath?: string;
  clock?: Clock;
  /** progress lines for the terminal; silent when absent */
  log?: (line: string) => void;
  /** overrides controller.listen: several controllers of one store on one machine */
  listen?: string;
  /**
   * A leader that lost its lease (paused, cut off from the database) must stop acting at once;
   * `greenlight up` exits (a supervisor restarts it as a standby). Without it, the controller
   * stops its loops and API in-process without writing anything.
   */
  onLeadershipLost?: (why: string) => void;
  /**
   * PostgreSQL: when the store does not answer at start, keep trying (every 2 s) instead of
   * failing: a deposed leader restarting as a standby while its partition lasts.
   */
  waitForStore?: boolean;
}

export interface Controller {
  loaded: LoadedConfig;
  config: Config;
  clock: Clock;
  events: EventLog;
  state: LiveState;
  deployer: Deployer;
  approvals: Approvals;
  runtime: Runtime;
  targets: Map<string, Target>;
  routers: RouterProcesses;
  supervisor: RouterSupervisor;
  operations: Operations;
  drills: DrillRunner;
  /** fleets: host changes and inventory over the environments' ssh targets */
  fleet: FleetDeps;
  /** the drills: schedule, when configured */
  drillSchedule?: DrillScheduler;
  url: string;
  token: string;
  /** PostgreSQL store: this controller's lease (absent with SQLite: a single controller leads) */
  leadership: Leadership | undefined;
  role(): 'leader' | 'standby';
  /** resolves once this controller leads (at once with SQLite) */
  leading: Promise<void>;
  /** the leader as the store says (with SQLite: this controller) */
  leader(): Promise<LeaseHolder | undefined>;
  /** users, service accounts and tokens (a projection of the log) */
  directory: Directory;
  policy: Policy;
  loginLimiter: FailureLimiter;
  /** set by `greenlight up`: what POST /v1/shutdown does */
  onShutdown?: (stopAll: boolean) => void;
  /** stops the controller; routers and instances keep running unless stopAll */
  stop(opts?: { stopAll?: boolean }): Promise<void>;
}

export async function startController(opts: ControllerOptions = {}): Promise<Controller> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? (() => undefined);
  const loaded = loadConfig(opts.configPath);
  const { config, stateDir } = loaded;
  for (const w of secureStateDir(stateDir)) log(`warning: ${w}`);
  const token = ensureToken(stateDir);
  const listen = opts.listen ?? config.controller.listen;
  const spec = storeSpec(config.store, stateDir);
  let leadership: Leadership | undefined;
  // never let SQLite turn a missing or emptied log into a fresh one while things still run
  if (spec.kind === 'sqlite') refuseEmptyLogFile(spec.file, stateDir);
  // every append carries the lease's fencing token; the database refuses it once the lease is gone
  const events = await openStore();
  if (spec.kind === 'postgres' && config.store.kind === 'postgres') {
    leadership = new Leadership({ log: events as PostgresEventLog, address: urlOf(listen), clock, ttlMs: config.store.lease });
  }
  const state = new LiveState(events);
  try {
    await refuseBrokenChain(events, describeStore(spec), log);
    await state.start();
    refuseShortLog(state.view, describeStore(spec), stateDir);
  } catch (err) {
    state.stop();
    await events.close();
    throw err;
  }
  const directory = await new Directory({ events, clock, bootstrapToken: () => token }).start();

  // The API port is taken first so a second controller on the same state fails before touching anything.
  const server = createServer();
  const { host, port } = splitHostPort(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new GreenlightError('PORT_IN_USE', `the controller cannot listen on ${listen}: the port is in use`, {
              hint: 'is another `greenlight up` running? (greenlight status) Otherwise change controller.listen',
            })
          : err,
      ),
    );
    server.listen(port, host, () => resolve());
  });

  // What only the leader has: built when it is elected (at once with SQLite).
  interface Parts {
    deployer: Deployer;
    approvals: Approvals;
    runtime: Runtime;
    fleet: FleetDeps;
    inventorySchedule: { stop(): void };
    tableWatch: { stop(): void };
    targets: Map<string, Target>;
    routers: RouterProcesses;
    supervisor: RouterSupervisor;
    operations: Operations;
    drills: DrillRunner;
    drillSchedule: DrillScheduler | undefined;
    headWebhook: { stop(): void } | undefined;
  }
  let parts: Parts | undefined;
  const need = <K extends keyof Parts>(k: K): Parts[K] => {
    if (!parts) throw new GreenlightError('NOT_LEADER', 'this controller is a standby', { hint: 'send writes to the leader (greenlight status names it)' });
    return parts[k];
  };
  let resolveLeading: () => void = () => undefined;
  const leading = new Promise<void>((r) => (resolveLeading = r));
  let stopped = false;
  const url = urlOf(listen);
  const controller: Controller = {
    loaded,
    config,
    clock,
    events,
    state,
    get deployer() { return need('deployer'); },
    get runtime() { return need('runtime'); },
    get targets() { return need('targets'); },
    get routers() { return need('routers'); },
    get operations() { return need('operations'); },
    get supervisor() { return need('supervisor'); },
    get drills() { return need('drills'); },
    get drillSchedule() { return parts?.drillSchedule; },
    get approvals() { return need('approvals'); },
    get fleet() { return need('fleet'); },
    directory,
    policy: new Policy(config.access),
    loginLimiter: new FailureLimiter(clock),
    url,
    token,
    leadership,
    leading,
    role: () => (parts ? 'leader' : 'standby'),
    leader: async () => (leadership ? leadership.current() : { holder: `pid ${process.pid}`, address: url, token: 0, expiresAt: Infinity, live: true }),
    async stop(o = {}) {
      stopped = true;
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      if (!parts) {
        leadership?.stop();
        state.stop();
        directory.stop();
        await events.close();
        return;
      }
      const { deployer, operations, routers, targets, supervisor, drills, drillSchedule, headWebhook, inventorySchedule, tableWatch } = parts;
      inventorySchedule.stop();
      tableWatch.stop();
      // first, so routers stopped on purpose below are not restarted
      await supervisor.stop();
      // Never leave traffic on an unverified release because the controller went away.
      await deployer.abortAll('controller (shutting down)');
      // a drill does not outlive its controller: its faults are removed now (they would expire anyway)
      if (drills.running()) await drills.halt('controller', 'the controller is shutting down').catch(() => undefined);
      drills.stop();
      drillSchedule?.stop();
      await operations.stop();
      headWebhook?.stop();
      if (o.stopAll) {
        await Promise.all(config.environments.flatMap((env) => Object.keys(config.services).map((service) => routers.stop(env.name, service).catch((err) => log(`router ${env.name}/${service}: ${String(err)}`)))));
      }
      for (const t of targets.values()) await t.close({ stopInstances: !!o.stopAll });
      await events.append({ type: 'controller.stopped', actor: 'controller', subject: 'controller', data: { pid: process.pid, stoppedAll: !!o.stopAll } });
      state.stop();
      directory.stop();
      // a clean stop hands the lease over at once instead of after its ttl
      await leadership?.release();
      await events.close();
    },
  };
  const full = apiRoutes(controller).handler(apiAuth(controller));
  const standby = standbyHandler(controller, full);
  server.on('request', (req, res) => (parts ? full : standby)(req, res));

  // Routers this start spawned: if the start fails half-way, they are stopped again (nothing half-applied).
  const spawned: (() => Promise<void>)[] = [];
  const fail = async (err: unknown) => {
    for (const stop of spawned) await stop().catch(() => undefined);
    server.close();
    leadership?.stop();
    state.stop();
    directory.stop();
    await events.close();
    throw err;
  };
  if (!leadership) {
    await assemble().catch(fail);
    return controller;
  }
  const first = await leadership.tryAcquire().catch((err) => fail(err));
  // The loop runs (and renews the lease) while the leader assembles: adopting routers and
  // instances can take longer than the lease on a busy machine.
  let assembling: Promise<void> | undefined;
  leadership.start({
    onElected: () => {
      if (parts || stopped || assembling) return;
      if (!first || parts === undefined) log(`elected leader (token ${leadership!.token})${first ? '' : ': taking over'}`);
      assembling = assemble();
      if (!first) {
        assembling.catch((err: unknown) => {
          log(`taking over failed: ${String(err)}`);
          lost(`taking over failed: ${String(err)}`);
        });
      }
    },
    onLost: (why) => lost(why),
  });
  if (first) await assembling!.catch(fail);
  else log(`standby: ${(await leadership.current())?.address ?? 'another controller'} leads; this one serves reads and takes over if it goes away`);
  return controller;

  function lost(why: string): void {
    if (stopped) return;
    log(`leadership lost: ${why}`);
    if (opts.onLeadershipLost) return opts.onLeadershipLost(why);
    // Stop acting without writing (the store refuses our writes now anyway).
    stopped = true;
    server.close();
    server.closeAllConnections();
    void (async () => {
      parts?.inventorySchedule.stop();
      parts?.tableWatch.stop();
      await parts?.supervisor.stop().catch(() => undefined);
      parts?.drills.stop();
      parts?.drillSchedule?.stop();
      parts?.headWebhook?.stop();
      await parts?.operations.stop().catch(() => undefined);
      for (const t of parts?.targets.values() ?? []) await t.close({ stopInstances: false }).catch(() => undefined);
      state.stop();
      await events.close();
    })();
  }

  async function openStore(): Promise<EventLog> {
    for (let attempt = 0; ; attempt++) {
      try {
        // a transaction cut off by a partition must not hold the head and lease rows for longer
        // than half a lease, or the standby could not take over in time
        const idle = config.store.kind === 'postgres' ? Math.max(500, Math.floor(config.store.lease / 2)) : undefined;
        return await openEventLog(spec, { clock, fence: () => leadership?.fence(), ...(idle ? { idleInTransactionMs: idle } : {}) });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (!opts.waitForStore || spec.kind !== 'postgres' || code !== 'STORE_UNAVAILABLE') throw err;
        if (attempt % 5 === 0) log(`the store does not answer (${(err as Error).message}); trying again every 2 s`);
        await clock.sleep(2000);
      }
    }
  }

  async function assemble(): Promise<void> {
    const token_ = leadership?.token;
    await events.append({ type: 'controller.started', actor: 'controller', subject: 'controller', data: { pid: process.pid, config: loaded.file, listen, ...(leadership ? { holder: leadership.id, token: token_, store: 'postgres' } : {}) } });

    const targets = new Map<string, Target>();
    for (const env of config.environments) {
      targets.set(env.name, createTarget(env.target, { stateDir: join(stateDir, 'targets', env.name), events, clock }, { parsed: true }));
    }
    for (const [name, target] of targets) {
      const adopted = await target.adopt();
      if (adopted.length) log(`adopted ${adopted.length} running instance(s) in ${name}`);
    }

    const routers = new RouterProcesses({ stateDir, tokenFile: routerTokenPath(stateDir), token: ensureRouterToken(stateDir), legacyToken: token, events, clock });
    const traffic = new Map<string, TrafficControl>();
    const publicUrl = new Map<string, string>();
    for (const env of config.environments) {
      for (const service of Object.keys(config.services)) {
        let builtin: TrafficProvider | undefined;
        if (env.traffic.kind === 'builtin') {
          const r = routerFor(env, service);
          const { client, adopted } = await routers.ensure(env.name, service, r.listen, r.admin, formatIdentity(r.identity), formatHealthCheck(routerHealthCheck(r, config.services[service]!)));
          if (!adopted) spawned.push(() => routers.stop(env.name, service));
          builtin = new BuiltinProvider(client, urlOf(r.listen), `router ${env.name}/${service}`);
          log(`router ${env.name}/${service} on http://${r.listen} ${adopted ? '(adopted, kept serving)' : '(started)'}`);
        }
        const provider = createTrafficProvider(env.traffic, { clock, builtin: () => builtin! });
        if (!builtin) log(`traffic of ${env.name}/${service} through ${provider.describe} (clients reach it at ${provider.url})`);
        publicUrl.set(`${env.name}/${service}`, provider.url);
        traffic.set(`${env.name}/${service}`, new TrafficControl(provider, { epoch: () => leadership?.token }));
      }
    }

    // drills write their dependency-source faults here; every compatibility check reads it
    const dependencyFaults = new DependencyFaults(join(stateDir, 'drills', 'dependency-faults.json'), clock);
    const checks = new Map<string, Check>(Object.entries(config.checks).map(([name, spec]) => [name, createCheck(name, spec)]));
    const runtime: Runtime = {
      service(name): ServiceRuntime | undefined {
        const s = Object.hasOwn(config.services, name) ? config.services[name] : undefined;
        if (!s) return undefined;
        return { name, command: s.command, env: s.env, health: { path: s.health.path, timeoutMs: s.health.timeout, intervalMs: s.health.interval }, stopGraceMs: s.stop_grace, instances: s.instances };
      },
      environments(service): EnvironmentRuntime[] {
        const s = Object.hasOwn(config.services, service) ? config.services[service] : undefined;
        if (!s) return [];
        return config.environments.map((env, index) => ({
          name: env.name,
          index,
          target: targets.get(env.name)!,
          traffic: traffic.get(`${env.name}/${service}`)!,
          routerUrl: publicUrl.get(`${env.name}/${service}`)!,
          checks: env.checks.map((c) => checks.get(c)!),
          synthetic: env.synthetic_checks ? syntheticChecks(env.checks.map((c) => [c, config.checks[c]]), { parsed: true }) : [],
          dependencies: env.dependencies as EnvironmentRuntime['dependencies'],
          dependencyFaults,
          instances: env.instances ?? s.instances,
          env: env.env,
          verifyForMs: env.switch.verify_for,
          drainMs: env.switch.drain,
          ...(env.rollout ? { rollout: env.rollout } : {}),
        }));
      },
    };

    const approvals = new Approvals({ events, clock, policy: (env) => config.access.environments[env] });
    const deployer = new Deployer({ events, state: state.view, runtime, clock, approvals });
    const recovered = await recoverInterruptedDeployments({ events, state: state.view, runtime, clock });
    for (const id of recovered) log(`deployment ${id} was cut off by a restart: ${state.view.deployments.get(id)?.state === 'promoted' ? 'finished: it had been promoted' : 'traffic returned to the stable version'}`);
    // A provider outside the controller (HAProxy on an edge host) can restart and lose the table it
    // was given without telling anyone: looked at every 2 s outside deployments, and the stable
    // version restored (reconcile.ts). The built-in router is the supervisor's business.
    const watched = Object.keys(config.services).flatMap((service) =>
      runtime.environments(service).filter((env) => config.environments.find((e) => e.name === env.name)?.traffic.kind !== 'builtin').map((env) => ({ env, service })),
    );
    const tableWatch = watchTables({ events, state: state.view, runtime }, watched, clock, (service) => Boolean(deployer.runningDeployment(service)));
    for (const service of Object.keys(config.services)) {
      for (const env of runtime.environments(service)) {
        await reconcileEnvironment({ events, state: state.view, runtime }, env, service, { replaceMissing: true });
        // An instance back from a crash may listen elsewhere: point the router at it (rollouts do this themselves).
        env.target.onInstanceEvent((e) => {
          if ((e.type === 'instance.ready' || e.type === 'instance.restarted') && e.instance.service === service && !deployer.runningDeployment(service)) {
            void reconcileEnvironment({ events, state: state.view, runtime }, env, service, { replaceMissing: false });
          }
        });
        // A host that left rotation (unreachable, drained) or came back: the router follows at once.
        fleetOf(env.target)?.onRotation(() => {
          if (!deployer.runningDeployment(service)) void reconcileEnvironment({ events, state: state.view, runtime }, env, service, { replaceMissing: false });
        });
      }
    }
    const incidentsView = new Incidents({ events, clock });
    const drills = new DrillRunner({
      events,
      clock,
      drills: config.drills ?? defaultDrillsConfig(),
      environments: config.environments.map((e) => e.name),
      services: Object.keys(config.services),
      routerFaults: (env, service) => {
        const rec = routers.readRecord(env, service);
        return rec ? routers.client(rec) : undefined;
      },
      dependencyFaults,
      stableVersion: (env, service) => state.view.stable.get(`${env}/${service}`)?.version,
      deploy: async (r) => {
        const handle = await deployer.start({ service: r.service, version: r.version, actor: r.actor, only: [r.environment] });
        handle.done.catch(() => undefined);
        return handle.id;
      },
      realOpenIncidents: async (env, service) =>
        (await incidentsView.list({ state: 'active', service, environment: env })).filter((i) => !i.title.startsWith('DRILL') && !i.notes.some((n) => n.text.startsWith('DRILL'))),
      onError: (err) => log(`drills: ${String(err)}`),
    });
    const operations = await startOperations({ config, events, clock, runtime, log, markAlert: (c, env, service) => drills.mark(c, env, service) });
    await drills.start();
    const drillSchedule = drillScheduler(config, loaded.file, { clock, events, runner: drills, onError: (err) => log(`drill schedule: ${String(err)}`) });
    await drillSchedule?.start();
    const headWebhook = config.audit.head_webhook ? startHeadWebhook(config.audit.head_webhook, { events, clock, controller: url, log }) : undefined;
    const supervisor = new RouterSupervisor({
      routers,
      events,
      clock,
      log,
      crashLoop: { deaths: config.controller.router_crash_loop.deaths, windowMs: config.controller.router_crash_loop.window, maxBackoffMs: 30_000 },
      // only the built-in routers are Greenlight's processes to restart; an HAProxy is the team's
      entries: config.environments.filter((env) => env.traffic.kind === 'builtin').flatMap((env) => Object.keys(config.services).map((service) => ({ environment: env.name, service, listen: routerFor(env, service).listen, admin: routerFor(env, service).admin, identity: formatIdentity(routerFor(env, service).identity), healthCheck: formatHealthCheck(routerHealthCheck(routerFor(env, service), config.services[service]!)) }))),
      ...(operations.alerting ? { alert: (a: IncomingAlert[]) => operations.alerting!.receive(a, 'controller') } : {}),
    });
    supervisor.start();
    const fleet: FleetDeps = { config, events, clock, targets, traffic: (environment, service) => traffic.get(`${environment}/${service}`) };
    const inventorySchedule = scheduleInventory({
      ...fleet,
      warn: log,
      ...(operations.alerting ? { alert: (a: IncomingAlert[]) => void operations.alerting!.receive(a, 'controller') } : {}),
    });

    parts = { deployer, approvals, runtime, targets, routers, supervisor, operations, drills, fleet, inventorySchedule, tableWatch, drillSchedule, headWebhook };
    resolveLeading();
  }
}

/**
 * The controller decides from the log, so it does not start on a log whose record was rewritten:
 * it names the first event concerned and says what to do (see docs/audit.md).
 */
async function refuseBrokenChain(events: EventLog, store: string, log: (line: string) => void): Promise<void> {
  const v = await verifyChain(events);
  if (v.ok) {
    log(`audit chain intact: ${v.checked} event(s)${v.head ? `, head ${v.head.seq}:${v.head.hash.slice(0, 16)}…` : ''}${v.accepted ? ` (break accepted at seq ${v.accepted.seq} by ${v.accepted.actor})` : ''}`);
    return;
  }
  await events.close();
  throw new GreenlightError('AUDIT_CHAIN_BROKEN', `the controller refuses to start: the hash chain of ${store} is broken: ${v.problem!.detail}`, {
    hint: `${CHAIN_HINT}. Details: greenlight audit verify`,
    data: { problem: v.problem },
  });
}
