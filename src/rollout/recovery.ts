// After a controller restart, a deployment the log says is still running was cut off mid-way.
// Recovery finishes what the log says happened, environment by environment:
//   - the log recorded the new version as stable there (environment.stable.changed): the switch
//     was final, so it is completed: the router gets the new version only, the old instances
//     drain and stop, and the environment passes;
//   - otherwise the release was not proven there: traffic goes back to the stable version, the
//     candidate's instances (and a fresh baseline) are stopped, and the environment fails.
// The deployment then ends promoted when every environment passed, failed otherwise, with why.
// The same runs when a standby takes over from a dead leader. A cut-off phase is not resumed:
// what decides it lived in the old controller's memory (check verdicts in flight, the canary
// analysis's sequential evidence and hold timers, the post-switch watch), and judging a release
// on part of that evidence is worse than trying again (PHASES says why, per phase).
import { describe } from '../errors/errors.ts';
import { eventWith } from '../events/catalogue/index.ts';
import type { EventLog } from '../events/log.ts';
import type { Emit } from './emit.ts';
import type { StateView } from '../state/projection.ts';
import type { Clock } from '../clock/clock.ts';
import { placementOf } from './placement.ts';
import { upstreamsOf } from './upstreams.ts';
import type { Runtime } from './runtime.ts';

/** Per phase (the environment's last recorded stage): what the new controller does and why. */
export const PHASES: Record<string, string> = {
  gate: 'no traffic had moved; the gate is decided again when the deployment is re-run',
  instances: 'no traffic had moved; the candidate instances that were starting are stopped',
  'checks:pre': 'no traffic had moved; the pre-checks\' verdicts in flight were lost, the candidate is stopped',
  baseline: 'no traffic had moved to the canary; its fresh baseline is stopped',
  canary: "the canary's analysis evidence and hold timers were in the old controller's memory: traffic goes back to the stable version instead of judging the canary on part of its evidence",
  waves: "the waves' health watch was in the old controller's memory: every host goes back to the stable version (whose instances kept running on every host until the last wave passed)",
  switch: 'the new version was not recorded as stable: traffic goes back to the stable version (a switch recorded as final is completed instead)',
  'checks:post': 'the post-switch checks were cut off before their verdict: traffic goes back to the stable version',
  'switch-back': 'the switch back to the stable version is completed',
  'already-stable': 'the release already served this environment: nothing to undo',
};

export async function recoverInterruptedDeployments(deps: { events: EventLog; state: StateView; runtime: Runtime; clock?: Clock }): Promise<string[]> {
  const recovered: string[] = [];
  const sleep = (ms: number) => (deps.clock ? deps.clock.sleep(ms) : new Promise<void>((r) => setTimeout(r, ms)));
  for (const dep of [...deps.state.deployments.values()]) {
    if (dep.state !== 'running') continue;
    const build = eventWith({ deploymentId: dep.id, service: dep.service, version: dep.version }, { actor: 'controller', subject: `deployment/${dep.id}` });
    const emit: Emit = (type, data) => deps.events.append(build(type, data));
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
        failed = true;
        notes.push(`${env.name}: could not finish recovery: ${describe(err)}`);
      }
    }
    const after = deps.state.deployments.get(dep.id)!;
    const pending = after.environments.filter((e) => e.state === 'pending').map((e) => e.name);
    if (!failed && pending.length === 0 && after.environments.every((e) => e.state === 'passed')) {
      await emit('deployment.promoted', { reason: `finished after a controller restart or takeover${notes.length ? `; ${notes.join('; ')}` : ''}`, recovered: true });
    } else {
      const rest = pending.length ? `; not started: ${pending.join(', ')} (deploy ${dep.service}@${dep.version} again to continue)` : '';
      await emit('deployment.failed', { reason: `interrupted by a controller restart or takeover${notes.length ? `; ${notes.join('; ')}` : ''}${rest}` });
    }
    recovered.push(dep.id);
  }
  return recovered;
}
