// One release entering one environment, all at once behind the router: start the new instances,
// run the pre checks, switch the router, run the post checks for the verification window, then
// either make the new version stable or switch back. The previous version keeps serving until the
// new one is proven, and its instances are stopped only after the switch is final.
import { describe, GreenlightError } from '../errors/errors.ts';
import { runChecks } from '../checks/runner.ts';
import type { Check, CheckContext } from '../checks/check.ts';
import type { InstanceInfo } from '../targets/target.ts';
import type { EndStep, EnvironmentOutcome, EnvironmentStep } from './step.ts';
import { placementOf } from './placement.ts';
import { upstreamsOf } from './upstreams.ts';
import { runCanary } from './canary.ts';
import { canaryHosts, instancesPerHost, runWaves } from './waves.ts';
import { fleetOf } from '../fleet/fleet.ts';
import type { DeploymentRef } from './emit.ts';
import type { DataOf } from '../events/catalogue/index.ts';

type Stage = DataOf<'deployment.stage'>['stage'];
type StageFields = Omit<DataOf<'deployment.stage'>, keyof DeploymentRef | 'environment' | 'stage'>;

export async function deployToEnvironment(step: EnvironmentStep): Promise<EnvironmentOutcome> {
  const { release, env, emit, deps } = step;
  const service = deps.runtime.service(release.service)!;
  const stable = placementOf(deps.state, env.name, release.service);
  const stage = (name: Stage, extra: StageFields = {}) => emit('deployment.stage', { environment: env.name, stage: name, ...extra });
  const end: EndStep = async (result, reason, extra = {}) => {
    // an abort is recorded as an abort (it used to be written as a failure)
    await emit(`deployment.environment.${result}`, { environment: env.name, reason, ...extra });
    return { result, reason };
  };

  if (stable && stable.version === release.version && stable.digest === release.digest) {
    const running = env.target.list({ service: release.service, version: release.version, environment: env.name });
    if (running.length > 0) {
      await stage('already-stable', { message: `${release.service}@${release.version} already serves ${env.name}` });
      await emit('deployment.environment.passed', { environment: env.name, digest: release.digest, unchanged: true });
      return { result: 'passed' };
    }
  }

  const previous = stable && stable.version !== release.version ? stable : undefined;
  const fleet = fleetOf(env.target);
  // Releases in waves: the canary starts on the canary hosts only; the other hosts follow in waves.
  const waves = env.rollout?.waves && fleet && previous && !step.rollback ? { ...env.rollout, waves: env.rollout.waves } : undefined;
  const canaryOn = waves && fleet ? canaryHosts(fleet, waves.waves) : undefined;
  const count = canaryOn ? canaryOn.reduce((n, h) => n + instancesPerHost(env, release.service, previous?.version, h), 0) : env.instances;

  // 1. Start the new instances beside the stable ones; no traffic reaches them yet.
  await stage('instances', { ready: 0, of: count, ...(canaryOn ? { message: `canary on ${canaryOn.join(', ')}` } : {}) });
  let fresh: InstanceInfo[];
  try {
    let ready = 0;
    fresh = await env.target.start(
      {
        service: release.service,
        version: release.version,
        environment: env.name,
        artifactDir: release.artifactDir,
        command: service.command,
        env: { ...service.env, ...env.env },
        health: service.health,
        stopGraceMs: service.stopGraceMs,
        role: 'candidate',
      },
      count,
      {
        signal: step.signal,
        ...(canaryOn ? { hosts: canaryOn } : {}),
        onProgress: (i) => {
          if (i.state === 'ready') void stage('instances', { ready: ++ready, of: count, instance: i.id, port: i.port });
        },
      },
    );
  } catch (err) {
    if (step.signal.aborted) return end('aborted', describe(step.signal.reason));
    const hint = err instanceof GreenlightError ? err.hint : undefined;
    return end('blocked', `instances of ${release.service}@${release.version} did not start: ${describe(err)}`, { stage: 'instances', ...(hint ? { hint } : {}) });
  }
  // every new instance of this deployment (a wave adds its own), stopped if it does not pass
  const freshIds = fresh.map((i) => i.id);
  const ctx = (): CheckContext => ({
    environment: env.name,
    service: release.service,
    release: { version: release.version, digest: release.digest, requires: release.requires, artifactPath: release.artifactDir },
    routerUrl: env.routerUrl,
    instanceUrls: env.target.list({ service: release.service, version: release.version, environment: env.name }).map((i) => i.url),
    dependencies: env.dependencies,
    ...(fleet ? { fleet } : {}),
    ...(env.dependencyFaults ? { dependencyFaults: env.dependencyFaults } : {}),
    signal: step.signal,
    clock: deps.clock,
  });
  const checks = (phase: Check['phase']) => env.checks.filter((c) => c.phase === phase);
  const run = async (phase: Check['phase']) => {
    await stage(`checks:${phase}`, { checks: checks(phase).map((c) => c.name) });
    return runChecks(checks(phase), ctx(), { events: deps.events, actor: 'controller', subject: `deployment/${step.id}` });
  };

  // 2. Pre checks: compatibility of third-party dependencies, smoke tests on the new instances.
  const pre = await run('pre');
  if (step.signal.aborted) return cleanup(step, freshIds, end('aborted', describe(step.signal.reason)));
  if (pre.verdict !== 'pass') {
    return cleanup(step, freshIds, end('blocked', summarise(pre.results), { stage: 'checks:pre' }));
  }
  // 2b. Synthetic requests to the new instances before any user request reaches them.
  if (env.synthetic && env.synthetic.length > 0) {
    await stage('checks:synthetic', { checks: env.synthetic.map((c) => c.name) });
    const synthetic = await runChecks(env.synthetic, ctx(), { events: deps.events, actor: 'controller', subject: `deployment/${step.id}` });
    if (step.signal.aborted) return cleanup(step, freshIds, end('aborted', describe(step.signal.reason)));
    if (synthetic.verdict !== 'pass') {
      return cleanup(step, freshIds, end('blocked', `refused before any user request: ${summarise(synthetic.results)}`, { stage: 'checks:synthetic', userRequests: 0 }));
    }
  }

  // 3. Switch all traffic; the previous version stays listed at weight 0 so pinned clients move.
  const upstreams = (version: string) => upstreamsOf(env, release.service, version);
  const switchTo = async (to: string, from: string | undefined, why: string) => {
    const table = await env.traffic.route([
      { version: to, weight: 100, upstreams: upstreams(to) },
      ...(from ? [{ version: from, weight: 0, upstreams: upstreams(from) }] : []),
    ]);
    await deps.events.append({
      type: 'router.switched',
      actor: 'controller',
      subject: `environment/${env.name}/${release.service}`,
      data: { deploymentId: step.id, environment: env.name, service: release.service, to, from: from ?? null, reason: why, revision: table.revision },
    });
  };
  if (env.rollout && previous && !step.rollback) {
    await stage('canary', { from: previous.version, to: release.version, steps: env.rollout.steps });
    const outcome = await runCanary({ step, policy: env.rollout, previous, control: step.control, canaryIds: freshIds, end });
    // (a rolled back canary drained and stopped its own instances)
    if (outcome !== 'promote') return outcome;
    await emit('rollout.promoted', { environment: env.name, actor: 'controller' });
    if (waves && canaryOn) {
      const done = await runWaves({ step, policy: waves, previous, canary: canaryOn, started: freshIds, end });
      if (done !== 'passed') return cleanup(step, freshIds, Promise.resolve(done));
    }
  }
  try {
    await stage('switch', { from: previous?.version ?? null, to: release.version });
    await switchTo(release.version, previous?.version, 'deploy');
  } catch (err) {
    // The router did not take the table; if it did partially, putting stable back is still right.
    if (previous) await switchTo(previous.version, release.version, 'switch failed').catch(() => undefined);
    return cleanup(step, freshIds, end('failed', `switching ${env.name} to ${release.version} failed: ${describe(err)}`, { stage: 'switch' }));
  }

  // 4. Post checks through the router, repeated over the verification window.
  const until = deps.clock.now() + env.verifyForMs;
  let post = await run('post');
  while (post.verdict === 'pass' && deps.clock.now() < until && !step.signal.aborted) {
    await deps.clock.sleep(Math.min(1000, until - deps.clock.now()), step.signal).catch(() => undefined);
    if (step.signal.aborted) break;
    if (checks('post').length) post = await run('post');
  }
  if (post.verdict !== 'pass' || step.signal.aborted) {
    const reason = step.signal.aborted ? describe(step.signal.reason) : summarise(post.results);
    if (previous) {
      await stage('switch-back', { to: previous.version, reason });
      await switchTo(previous.version, release.version, `post-switch checks: ${reason}`);
    } else {
      await env.traffic.route([{ version: release.version, weight: 0, upstreams: [] }]);
    }
    return cleanup(step, freshIds, end(step.signal.aborted ? 'aborted' : 'rolled_back', reason, { stage: 'checks:post', switchedBackTo: previous?.version ?? null }));
  }

  // 5. Final: the new version is stable here; the old instances drain and stop.
  await deps.events.append({
    type: 'environment.stable.changed',
    actor: 'controller',
    subject: `environment/${env.name}/${release.service}`,
    data: { deploymentId: step.id, environment: env.name, service: release.service, version: release.version, digest: release.digest, previous: previous?.version ?? null },
  });
  await emit('deployment.environment.passed', { environment: env.name, digest: release.digest });
  await env.traffic.route([{ version: release.version, weight: 100, upstreams: upstreams(release.version) }]);
  const old = env.target.list({ service: release.service, environment: env.name }).filter((i) => i.version !== release.version);
  if (old.length) {
    await deps.clock.sleep(env.drainMs).catch(() => undefined);
    await env.target.stop(old.map((i) => i.id));
  }
  return { result: 'passed' };
}

async function cleanup(step: EnvironmentStep, ids: string[], outcome: Promise<EnvironmentOutcome>): Promise<EnvironmentOutcome> {
  const o = await outcome;
  // Requests the router sent to these instances before they lost their weight get to finish.
  await step.deps.clock.sleep(step.env.drainMs).catch(() => undefined);
  await step.env.target.stop(ids).catch(() => undefined);
  return o;
}

function summarise(results: { name: string; verdict: string; message: string }[]): string {
  const bad = results.filter((r) => r.verdict !== 'pass');
  return bad.map((r) => `check ${r.name} ${r.verdict === 'fail' ? 'failed' : 'could not verify'}: ${r.message}`).join('; ') || 'checks did not pass';
}
