// Keeps what runs in an environment in line with what the log says should run there, outside of
// deployments: after a controller restart (instances lost while it was down are replaced) and
// when an instance comes back on another port after a crash (the router is pointed at it).
import type { Clock, TimerHandle } from '../clock/clock.ts';
import { describe } from '../errors/errors.ts';
import type { EventLog } from '../events/log.ts';
import type { StateView } from '../state/projection.ts';
import { placementOf } from './placement.ts';
import type { EnvironmentRuntime, Runtime } from './runtime.ts';
import { upstreamsOf } from './upstreams.ts';

export interface ReconcileDeps {
  events: EventLog;
  state: StateView;
  runtime: Runtime;
}


export async function reconcileEnvironment(deps: ReconcileDeps, env: EnvironmentRuntime, service: string, opts: { replaceMissing: boolean }): Promise<void> {
  const stable = placementOf(deps.state, env.name, service);
  if (stable && opts.replaceMissing) {
    const live = env.target.list({ service, version: stable.version, environment: env.name }).filter((i) => i.role !== 'baseline');
    const missing = env.instances - live.length;
    const release = deps.state.releases.get(`${service}@${stable.version}`);
    const svc = deps.runtime.service(service);
    if (missing > 0 && release && svc) {
      try {
        await env.target.start(
          { service, version: stable.version, environment: env.name, artifactDir: release.artifactDir, command: svc.command, env: { ...svc.env, ...env.env }, health: svc.health, stopGraceMs: svc.stopGraceMs, role: 'stable' },
          missing,
        );
        await deps.events.append({ type: 'environment.reconciled', actor: 'controller', subject: `environment/${env.name}/${service}`, data: { environment: env.name, service, version: stable.version, started: missing } });
      } catch (err) {
        await deps.events.append({ type: 'environment.reconcile.failed', actor: 'controller', subject: `environment/${env.name}/${service}`, data: { environment: env.name, service, version: stable.version, reason: describe(err) } });
      }
    }
  }
  await env.traffic.refresh((version) => upstreamsOf(env, service, version)).catch(() => undefined);
}

/**
 * A provider that answers with no table while the environment has a stable version lost it: an
 * HAProxy restarted or reloaded comes back with its configuration's disabled slots (what the
 * runtime API set lives in its memory only) and answers 503. The stable version gets all traffic
 * again. A provider that does not answer is left alone (it keeps serving what it has). The
 * controller calls this on a schedule for providers outside its supervision (app/controller.ts).
 */
export async function restoreTable(deps: ReconcileDeps, env: EnvironmentRuntime, service: string, version: string): Promise<boolean> {
  const held = await env.traffic.current().catch(() => undefined);
  if (held !== null) return false;
  const upstreams = upstreamsOf(env, service, version);
  if (upstreams.length === 0) return false;
  try {
    const table = await env.traffic.route([{ version, weight: 100, upstreams }]);
    await deps.events.append({ type: 'environment.traffic.restored', actor: 'controller', subject: `environment/${env.name}/${service}`, data: { environment: env.name, service, version, provider: env.traffic.describe, revision: table.revision, upstreams: upstreams.length } });
    return true;
  } catch {
    return false;
  }
}

/**
 * restoreTable for each of `watched` every 2 s (each round after the last has finished), skipping a
 * service while `busy` (a deployment of it runs and owns its tables) and an environment with no
 * stable version yet. For the providers outside the controller's supervision (app/controller.ts).
 */
export function watchTables(deps: ReconcileDeps, watched: { env: EnvironmentRuntime; service: string }[], clock: Clock, busy: (service: string) => boolean): { stop(): void } {
  let timer: TimerHandle | undefined;
  let stopped = false;
  const round = async () => {
    for (const { env, service } of watched) {
      const stable = placementOf(deps.state, env.name, service);
      if (stable && !busy(service)) await restoreTable(deps, env, service, stable.version);
    }
  };
  const next = () => {
    timer = clock.setTimeout(() => {
      void round().finally(() => {
        if (!stopped) next();
      });
    }, 2000);
    timer.unref?.();
  };
  if (watched.length > 0) next();
  return {
    stop: () => {
      stopped = true;
      timer?.cancel();
    },
  };
}
