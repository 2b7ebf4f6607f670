// After a controller restart or a takeover by a standby, a deployment the log says is still
// running was cut off mid-way. Its environment in progress is put back on the stable version
// (never left on an unverified release), the candidate's instances are stopped and the deployment
// ends failed, with the reason for its phase (see PHASES). It is not resumed: what decides each
// phase lived in the old controller's memory (check verdicts in flight, the canary analysis's
// sequential evidence and hold timers, the post-switch watch), and judging a release on half of
// that evidence is worse than trying it again. Run the deployment again to retry.
import { describe } from '../errors/errors.ts';
import type { EventLog } from '../events/log.ts';
import type { StateView } from '../state/projection.ts';
import { placementOf } from './placement.ts';
import { upstreamsOf } from './reconcile.ts';
import type { Runtime } from './runtime.ts';

/** Per phase (the environment's last recorded stage): what the new controller does and why. */
export const PHASES: Record<string, string> = {
  gate: 'no traffic had moved; the gate is decided again when the deployment is re-run',
  instances: 'no traffic had moved; the candidate instances that were starting are stopped',
  'checks:pre': 'no traffic had moved; the pre-checks\' verdicts in flight were lost, the candidate is stopped',
  baseline: 'no traffic had moved to the canary; its fresh baseline is stopped',
  canary: "the canary's analysis evidence and hold timers were in the old controller's memory: traffic goes back to the stable version instead of judging the canary on part of its evidence",
  switch: 'the switch was not recorded as verified: traffic goes back to the stable version',
  'checks:post': 'the post-switch checks were cut off before their verdict: traffic goes back to the stable version',
  'switch-back': 'the switch back to the stable version is completed',
  'already-stable': 'the release already served this environment: nothing to undo',
};

export async function recoverInterruptedDeployments(deps: { events: EventLog; state: StateView; runtime: Runtime }): Promise<string[]> {
  const recovered: string[] = [];
  for (const dep of deps.state.deployments.values()) {
    if (dep.state !== 'running') continue;
    const emit = (type: string, data: Record<string, unknown>) =>
      deps.events.append({ type, actor: 'controller', subject: `deployment/${dep.id}`, data: { deploymentId: dep.id, service: dep.service, version: dep.version, ...data } });
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
            data: { deploymentId: dep.id, environment: env.name, service: dep.service, to: stable.version, from: dep.version, reason: `controller restarted or taken over during the deployment (phase ${progress.stage ?? 'unknown'})` },
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
        const phase = progress.stage ?? 'unknown';
        await emit('deployment.environment.failed', {
          environment: env.name,
          phase,
          recovery: 'put back on stable',
          reason: `the controller stopped during ${phase}; ${PHASES[phase] ?? 'traffic was returned to the stable version'}`,
        });
      } catch (err) {
        notes.push(`${env.name}: could not restore the stable version: ${describe(err)}`);
      }
    }
    await emit('deployment.failed', { reason: `interrupted by a controller restart or takeover${notes.length ? `; ${notes.join('; ')}` : ''}` });
    recovered.push(dep.id);
  }
  return recovered;
}
