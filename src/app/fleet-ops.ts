// The controller's side of fleets: host changes (changes/runner.ts) wired to the environments'
// targets and routers, and the inventory recorded as events (inventory.collected, inventory.drift).
import { describe, GreenlightError } from '../errors/errors.ts';
import type { EventLog } from '../events/log.ts';
import type { Clock } from '../clock/clock.ts';
import type { Config } from '../config/schema.ts';
import { runChange, type ChangeEnvironment, type ChangeResult } from '../changes/runner.ts';
import { unavailableHosts } from '../fleet/availability.ts';
import { fleetOf } from '../fleet/fleet.ts';
import { Incidents } from '../incidents/incidents.ts';
import { collectInventory, type EnvironmentInventory } from '../inventory/inventory.ts';
import type { TrafficControl } from '../rollout/traffic.ts';
import { upstreamsOf } from '../rollout/upstreams.ts';
import type { Target } from '../targets/target.ts';
import { probeHealth } from '../targets/health.ts';
import type { IncomingAlert } from '../alerting/alerts/alert.ts';

/** the parts of the configuration fleets read (Config has them) */
export interface FleetConfig {
  environments: { name: string; target: { kind: string }; dependencies: Config['environments'][number]['dependencies'] }[];
  services: Record<string, { health: { path: string } }>;
  changes: Config['changes'];
}

export interface FleetDeps {
  config: FleetConfig;
  events: EventLog;
  clock: Clock;
  targets: Map<string, Target>;
  /** `${environment}/${service}` -> the router's traffic control */
  traffic: (environment: string, service: string) => TrafficControl | undefined;
}

/** Reads an environment's inventory and records it; drift is its own event (and so an alert source). */
export async function recordInventory(deps: FleetDeps, environment: string): Promise<EnvironmentInventory | undefined> {
  const env = deps.config.environments.find((e) => e.name === environment);
  const target = deps.targets.get(environment);
  const fleet = target && fleetOf(target);
  if (!env || !fleet) return undefined;
  const inv = await collectInventory(environment, fleet, env.dependencies, { clock: deps.clock });
  const subject = `inventory/${environment}`;
  await deps.events.append({
    type: 'inventory.collected',
    actor: 'controller',
    subject,
    data: { environment, hosts: inv.hosts.map((h) => ({ host: h.host, reachable: h.reachable, os: h.os ?? null, dependencies: Object.fromEntries(Object.entries(h.dependencies).map(([d, v]) => [d, v.version ?? null])), releases: h.releases.length, running: h.running.length, ...(h.supervisor ? { supervisor: h.supervisor.kind } : {}) })) },
  });
  for (const d of inv.drift) await deps.events.append({ type: 'inventory.drift', actor: 'controller', subject, data: { environment, dependency: d.dependency, kind: d.kind, desired: d.desired ?? null, versions: d.versions, message: d.message } });
  return inv;
}

export function changeEnvironments(deps: FleetDeps): ChangeEnvironment[] {
  const out: ChangeEnvironment[] = [];
  deps.config.environments.forEach((env, index) => {
    const target = deps.targets.get(env.name);
    const fleet = target && fleetOf(target);
    if (!target || !fleet) return;
    const services = Object.keys(deps.config.services);
    // every router of the environment points at the live instances not on a host out of rotation;
    // the drain is held by the fleet itself, so a reconcile meanwhile leaves the host out too
    const reroute = async () => {
      for (const service of services) {
        const traffic = deps.traffic(env.name, service);
        if (!traffic) continue;
        await traffic.refresh((version) => upstreamsOf({ name: env.name, target }, service, version));
      }
    };
    out.push({
      name: env.name,
      index,
      fleet,
      async drain(host) {
        fleet.drain(host, `a host change works on ${host}`);
        await reroute();
      },
      async restore(host) {
        fleet.restore(host);
        await reroute();
      },
      async healthy(host) {
        const problems: string[] = [];
        for (const i of target.list({ environment: env.name }).filter((x) => x.host === host)) {
          const svc = deps.config.services[i.service];
          const ok = await probeHealth(i.port, svc?.health.path ?? '/', 2000, deps.clock, new URL(i.url).hostname);
          if (!ok) problems.push(`${i.id} (${i.service}@${i.version}) does not answer ${svc?.health.path ?? '/'}`);
        }
        return { ok: problems.length === 0, problems };
      },
      unavailable: () => unavailableHosts(fleet, target.list({ environment: env.name })),
      refreshInventory: async () => void (await recordInventory(deps, env.name)),
    });
  });
  return out;
}

/**
 * Reads the inventory of every fleet environment now and then every `inventory_interval` of its
 * target. Drift fires an InventoryDrift alert (resolved when a reading finds none).
 */
export function scheduleInventory(deps: FleetDeps & { alert?: (a: IncomingAlert[]) => void; warn: (msg: string) => void }): { stop(): void } {
  const timers: { cancel(): void }[] = [];
  let stopped = false;
  for (const env of deps.config.environments) {
    if (env.target.kind !== 'ssh') continue;
    const every = (env.target as { inventory_interval?: number }).inventory_interval ?? 300_000;
    const tick = async () => {
      if (stopped) return;
      try {
        const inv = await recordInventory(deps, env.name);
        const now = deps.clock.now();
        deps.alert?.(
          (inv?.drift ?? []).map((d) => ({ labels: { alertname: DRIFT_ALERT, environment: env.name, dependency: d.dependency, severity: 'warning' }, annotations: { summary: d.message }, startsAt: now, endsAt: now + every * 2 })),
        );
      } catch (err) {
        deps.warn(`inventory of ${env.name} failed: ${describe(err)}`);
      }
      if (!stopped) timers.push(deps.clock.setTimeout(() => void tick(), every));
    };
    timers.push(deps.clock.setTimeout(() => void tick(), 0));
  }
  return {
    stop() {
      stopped = true;
      for (const t of timers) t.cancel();
    },
  };
}

export const DRIFT_ALERT = 'InventoryDrift';

export async function runNamedChange(deps: FleetDeps, req: { name: string; actor: string; force?: boolean; reason?: string; only?: string[] }): Promise<ChangeResult> {
  const spec = Object.hasOwn(deps.config.changes, req.name) ? deps.config.changes[req.name] : undefined;
  if (!spec) throw new GreenlightError('NOT_FOUND', `no change "${req.name}" in the configuration`, { hint: `declared changes: ${Object.keys(deps.config.changes).join(', ') || 'none (add one under changes:)'}` });
  const incidents = new Incidents({ events: deps.events, clock: deps.clock });
  return runChange(
    { name: req.name, spec, actor: req.actor, ...(req.force ? { force: true } : {}), ...(req.reason ? { reason: req.reason } : {}), ...(req.only ? { only: req.only } : {}) },
    {
      events: deps.events,
      clock: deps.clock,
      environments: changeEnvironments(deps),
      openIncident: async (input) => {
        try {
          return await incidents.open({ title: input.title, environment: input.environment, summary: input.summary, severity: 'sev2' }, 'controller');
        } catch (err) {
          throw new GreenlightError('INTERNAL', `the change failed and its incident could not be opened: ${describe(err)}`, { hint: 'open one by hand: greenlight incident open' });
        }
      },
    },
  );
}
