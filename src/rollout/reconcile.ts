// Keeps what runs in an environment in line with what the log says should run there, outside of
// deployments: after a controller restart (instances lost while it was down are replaced) and
// when an instance comes back on another port after a crash (the router is pointed at it).
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
