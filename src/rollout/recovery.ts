// After a controller restart, a deployment the log says is still running was cut off mid-way.
// Its environment in progress is put back on the stable version (never left on an unverified
// release), the candidate's instances are stopped and the deployment ends failed, with the reason.
import { describe } from '../errors/errors.ts';
import { eventWith } from '../events/catalogue/index.ts';
import type { EventLog } from '../events/log.ts';
import type { Emit } from './emit.ts';
import type { StateView } from '../state/projection.ts';
import { placementOf } from './placement.ts';
import { upstreamsOf } from './reconcile.ts';
import type { Runtime } from './runtime.ts';

export async function recoverInterruptedDeployments(deps: { events: EventLog; state: StateView; runtime: Runtime }): Promise<string[]> {
  const recovered: string[] = [];
  for (const dep of deps.state.deployments.values()) {
    if (dep.state !== 'running') continue;
    const build = eventWith({ deploymentId: dep.id, service: dep.service, version: dep.version }, { actor: 'controller', subject: `deployment/${dep.id}` });
    const emit: Emit = (type, data) => deps.events.append(build(type, data));
    const notes: string[] = [];
    for (const progress of dep.environments.filter((e) => e.state === 'running')) {
      const env = deps.runtime.environments(dep.service).find((e) => e.name === progress.name);
      if (!env) continue;
      const stable = placementOf(deps.state, env.name, dep.service);
      try {
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
        notes.push(`${env.name}: could not restore the stable version: ${describe(err)}`);
      }
    }
    await emit('deployment.failed', { reason: `interrupted by a controller restart${notes.length ? `; ${notes.join('; ')}` : ''}` });
    recovered.push(dep.id);
  }
  return recovered;
}
