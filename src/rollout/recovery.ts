// After a controller restart, a deployment the log says is still running was cut off mid-way.
// Recovery finishes what the log says happened, environment by environment:
//   - the log recorded the new version as stable there (environment.stable.changed): the switch
//     was final, so it is completed: the router gets the new version only, the old instances
//     drain and stop, and the environment passes;
//   - otherwise the release was not proven there: traffic goes back to the stable version, the
//     candidate's instances (and a fresh baseline) are stopped, and the environment fails.
// The deployment then ends promoted when every environment passed, failed otherwise, with why.
import { describe } from '../errors/errors.ts';
import type { EventLog } from '../events/log.ts';
import type { StateView } from '../state/projection.ts';
import type { Clock } from '../clock/clock.ts';
import { placementOf } from './placement.ts';
import { upstreamsOf } from './reconcile.ts';
import type { Runtime } from './runtime.ts';

export async function recoverInterruptedDeployments(deps: { events: EventLog; state: StateView; runtime: Runtime; clock?: Clock }): Promise<string[]> {
  const recovered: string[] = [];
  const sleep = (ms: number) => (deps.clock ? deps.clock.sleep(ms) : new Promise<void>((r) => setTimeout(r, ms)));
  for (const dep of [...deps.state.deployments.values()]) {
    if (dep.state !== 'running') continue;
    const emit = (type: string, data: Record<string, unknown>) =>
      deps.events.append({ type, actor: 'controller', subject: `deployment/${dep.id}`, data: { deploymentId: dep.id, service: dep.service, version: dep.version, ...data } });
    const notes: string[] = [];
    let failed = false;
    // 'passed' ones too: the restart may have cut their drain short, leaving old instances running.
    for (const progress of dep.environments.filter((e) => e.state === 'running' || e.state === 'passed')) {
      const env = deps.runtime.environments(dep.service).find((e) => e.name === progress.name);
      if (!env) continue;
      const stable = placementOf(deps.state, env.name, dep.service);
      try {
        if (stable && stable.version === dep.version && stable.deploymentId === dep.id) {
          const old = env.target.list({ service: dep.service, environment: env.name }).filter((i) => i.version !== dep.version || i.role === 'baseline');
          await env.traffic.route([{ version: dep.version, weight: 100, upstreams: upstreamsOf(env, dep.service, dep.version) }]);
          if (progress.state === 'running') await emit('deployment.environment.passed', { environment: env.name, digest: stable.digest, recovered: true });
          if (old.length) {
            // requests the router sent them before the restart get to finish
            await sleep(env.drainMs);
            await env.target.stop(old.map((i) => i.id));
            notes.push(`${env.name} had been promoted to ${dep.service}@${dep.version}; its ${old.length} old instance(s) were drained and stopped`);
          } else if (progress.state === 'running') {
            notes.push(`${env.name} had been promoted to ${dep.service}@${dep.version}`);
          }
          continue;
        }
        if (progress.state === 'passed') continue;
        failed = true;
        if (stable && stable.version !== dep.version) {
          const upstreams = upstreamsOf(env, dep.service, stable.version);
          await env.traffic.route([
            { version: stable.version, weight: 100, upstreams },
            { version: dep.version, weight: 0, upstreams: [] },
          ]);
          await deps.events.append({
            type: 'router.switched',
            actor: 'controller',
            subject: `environment/${env.name}/${dep.service}`,
            data: { deploymentId: dep.id, environment: env.name, service: dep.service, to: stable.version, from: dep.version, reason: 'controller restarted during the deployment' },
          });
          notes.push(`${env.name} is back on ${dep.service}@${stable.version}`);
        } else if (!stable) {
          await env.traffic.route([{ version: dep.version, weight: 0, upstreams: [] }]);
          notes.push(`${env.name} had no stable version; the candidate gets no traffic`);
        }
        if (!stable || stable.version !== dep.version) {
          const candidates = env.target.list({ service: dep.service, version: dep.version, environment: env.name });
          const baselines = env.target.list({ service: dep.service, environment: env.name }).filter((i) => i.role === 'baseline');
          await env.target.stop([...candidates, ...baselines].map((i) => i.id));
        }
        await emit('deployment.environment.failed', { environment: env.name, reason: 'the controller stopped during this step; traffic was returned to the stable version' });
      } catch (err) {
        failed = true;
        notes.push(`${env.name}: could not finish recovery: ${describe(err)}`);
      }
    }
    const after = deps.state.deployments.get(dep.id)!;
    const pending = after.environments.filter((e) => e.state === 'pending').map((e) => e.name);
    if (!failed && pending.length === 0 && after.environments.every((e) => e.state === 'passed')) {
      await emit('deployment.promoted', { reason: `finished after a controller restart${notes.length ? `; ${notes.join('; ')}` : ''}`, recovered: true });
    } else {
      const rest = pending.length ? `; not started: ${pending.join(', ')} (deploy ${dep.service}@${dep.version} again to continue)` : '';
      await emit('deployment.failed', { reason: `interrupted by a controller restart${notes.length ? `; ${notes.join('; ')}` : ''}${rest}` });
    }
    recovered.push(dep.id);
  }
  return recovered;
}
