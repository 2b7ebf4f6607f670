// Releases in waves across the hosts of a fleet (rollout.waves): the canary ran on the canary hosts
// only (canary.ts); once it passed, the other hosts are switched in waves. A wave starts the new
// version's instances on its hosts beside the stable ones, then moves those hosts into the new
// version's share of the routing table (the stable instances there leave rotation but keep
// running), and is watched for `verify_for`: every new instance of the wave ready and answering its
// health path at its host's address, the environment's post checks, and no analysis fail of the
// release's requests since the wave started against the stable version's record on the router. Only then the next wave. Because the stable version keeps
// running on every host until the last wave passed, a failed wave (or a host lost on the way) puts
// every host back on stable with one routing-table push; the new instances are stopped after.
import { analyse } from '../analysis/verdict.ts';
import { runChecks } from '../checks/runner.ts';
import { describe, GreenlightError } from '../errors/errors.ts';
import { unavailableHosts, waitForRoom } from '../fleet/availability.ts';
import { fleetOf, selectHosts, type Fleet } from '../fleet/fleet.ts';
import { formatDuration } from '../config/duration.ts';
import type { RouterStats } from '../router/stats.ts';
import type { Placement } from '../state/projection.ts';
import { probeHealth } from '../targets/health.ts';
import type { InstanceInfo } from '../targets/target.ts';
import { sampleSince } from './samples.ts';
import type { RolloutPolicy, WavesPolicy } from './schema.ts';
import type { EnvironmentRuntime } from './runtime.ts';
import type { EndStep, EnvironmentOutcome, EnvironmentStep } from './step.ts';
import { servingInstances, upstreamsOf } from './upstreams.ts';

const WATCH_EVERY_MS = 500;

/** the hosts the canary runs on: the first `hosts` of the target (in rotation first), or those with the labels */
export function canaryHosts(fleet: Fleet, waves: WavesPolicy): string[] {
  const hosts = fleet.hosts();
  if ('labels' in waves.canary) return selectHosts(hosts, waves.canary.labels).map((h) => h.name);
  const inRotation = hosts.filter((h) => fleet.rotation(h.name).in);
  return [...inRotation, ...hosts.filter((h) => !inRotation.includes(h))].slice(0, waves.canary.hosts).map((h) => h.name);
}

/** hosts per wave when every host is in service: min(batch_size, max_unavailable), at least 1 */
function waveSize(waves: WavesPolicy): number {
  return Math.max(1, Math.min(waves.batch_size, waves.max_unavailable));
}

/**
 * The remaining hosts in waves of min(batch_size, max_unavailable), in the target's order, when
 * every host is in service: the plan announced at the start. runWaves forms each wave when it
 * starts (nextWave), shrinking it by the hosts already out of service then.
 */
export function planWaves(all: string[], canary: string[], waves: WavesPolicy): string[][] {
  const rest = all.filter((h) => !canary.includes(h));
  const size = waveSize(waves);
  const out: string[][] = [];
  for (let i = 0; i < rest.length; i += size) out.push(rest.slice(i, i + size));
  return out;
}

/** how many instances of the new version a host gets: as many as the stable version runs there, at least one */
export function instancesPerHost(env: EnvironmentRuntime, service: string, stable: string | undefined, host: string): number {
  if (!stable) return 1;
  return Math.max(1, env.target.list({ service, version: stable, environment: env.name }).filter((i) => i.host === host && i.role !== 'baseline').length);
}

export interface WavesArgs {
  step: EnvironmentStep;
  policy: RolloutPolicy & { waves: WavesPolicy };
  previous: Placement;
  /** the canary's hosts (already on the new version) */
  canary: string[];
  /** ids of every new instance of this deployment: the canary's, and each wave's are added here */
  started: string[];
  end: EndStep;
}

export async function runWaves(a: WavesArgs): Promise<'passed' | EnvironmentOutcome> {
  const { step, policy, previous } = a;
  const { release, env, emit, deps } = step;
  const fleet = fleetOf(env.target)!;
  const service = deps.runtime.service(release.service)!;
  const next = release.version;
  const stable = previous.version;
  const all = fleet.hosts().map((h) => h.name);
  const planned = planWaves(all, a.canary, policy.waves);
  const remaining = all.filter((h) => !a.canary.includes(h));
  // how many waves there are: the plan, or more when waves had to shrink
  let of = planned.length;
  const converted = new Set(a.canary);
  const onHosts = (is: InstanceInfo[], hosts: Set<string>, inside: boolean) => is.filter((i) => i.host !== undefined && hosts.has(i.host) === inside);

  // The table: the converted hosts serve the new version, the others stable, weighted by instances.
  const push = async () => {
    const nu = onHosts(servingInstances(env, release.service, next), converted, true);
    const st = onHosts(servingInstances(env, release.service, stable), converted, false);
    const total = nu.length + st.length;
    const share = st.length === 0 ? 100 : total === 0 ? 0 : Math.round((100 * nu.length) / total);
    return env.traffic.route([
      { version: next, weight: nu.length ? Math.max(1, share) : 0, upstreams: nu.map((i) => i.url) },
      { version: stable, weight: st.length ? Math.max(1, 100 - share) : 0, upstreams: st.map((i) => i.url) },
    ]);
  };

  // A host leaving rotation on the way: out of the table at once; one that carries the new
  // version fails the waves (a release does not finish on a host it cannot reach).
  let lost: string | undefined;
  let wakeUp: (() => void) | undefined;
  const off = fleet.onRotation((host, r) => {
    if (r.in) return void push().catch(() => undefined);
    const carriesNew = env.target.list({ service: release.service, version: next, environment: env.name }).some((i) => i.host === host);
    if (carriesNew || converted.has(host)) lost ??= `host ${host} left rotation during the waves: ${r.reason}`;
    void push()
      .then((t) => emit('rollout.host.excluded', { environment: env.name, host, reason: r.reason, revision: t.revision }))
      .catch(() => emit('rollout.host.excluded', { environment: env.name, host, reason: r.reason }))
      .catch(() => undefined);
    wakeUp?.();
  });

  const fail = async (wave: number, hosts: string[], reason: string, kind: 'rolled_back' | 'aborted' = 'rolled_back'): Promise<EnvironmentOutcome> => {
    off();
    // Traffic first: every host back on stable (its instances never stopped), in one push.
    const table = await env.traffic.route([
      { version: stable, weight: 100, upstreams: upstreamsOf(env, release.service, stable) },
      { version: next, weight: 0, upstreams: upstreamsOf(env, release.service, next) },
    ]);
    await deps.events.append({
      type: 'router.switched',
      actor: 'controller',
      subject: `environment/${env.name}/${release.service}`,
      data: { deploymentId: step.id, environment: env.name, service: release.service, to: stable, from: next, reason: `wave ${wave}: ${reason}`, revision: table.revision },
    });
    await emit('rollout.wave.failed', { environment: env.name, wave, of, hosts, reason, stable });
    return a.end(kind, `wave ${wave} of ${of} (${hosts.join(', ')}): ${reason}; every host is back on ${stable}`, { stage: 'waves' });
  };

  // The next wave's hosts, within max_unavailable counting the hosts already out of service;
  // while there is no room, it waits (saying why) up to unavailable_timeout, then the waves fail.
  const maxOut = policy.waves.max_unavailable;
  const waitMs = policy.waves.unavailable_timeout;
  const roomFor = async (wave: number): Promise<string[] | EnvironmentOutcome> => {
    const r = await waitForRoom<Promise<EnvironmentOutcome>>({
      environment: env.name,
      remaining,
      batchSize: policy.waves.batch_size,
      maxUnavailable: maxOut,
      timeoutMs: waitMs,
      clock: deps.clock,
      unavailable: () => unavailableHosts(fleet, env.target.list({ service: release.service, environment: env.name })),
      waiting: (_down, why) => emit('deployment.stage', { environment: env.name, stage: 'waves', message: `wave ${wave}/${of} waits for room: ${why}; waiting up to ${formatDuration(waitMs)}` }),
      stop: () => {
        if (step.signal.aborted) return fail(wave, [remaining[0]!], `aborted: ${describe(step.signal.reason)}`, 'aborted');
        if (lost) return fail(wave, [remaining[0]!], lost);
        return undefined;
      },
      pause: (left) =>
        new Promise<void>((resolve) => {
          const ac = new AbortController();
          wakeUp = () => ac.abort();
          void deps.clock.sleep(Math.min(WATCH_EVERY_MS, left), AbortSignal.any([ac.signal, step.signal])).catch(() => undefined).then(() => resolve());
        }),
    });
    if ('hosts' in r) return r.hosts;
    if ('stopped' in r) return r.stopped;
    return fail(wave, [remaining[0]!], `no room to switch ${remaining[0]}: ${r.timedOut}, for ${formatDuration(waitMs)} (waves.unavailable_timeout)`);
  };

  await emit('deployment.stage', { environment: env.name, stage: 'waves', message: `canary hosts ${a.canary.join(', ')} on ${next}; ${planned.length} wave(s) to go: ${planned.map((w) => w.join('+')).join(', ') || 'none'}` });
  try {
    await push();
  } catch (err) {
    return fail(0, a.canary, `the router did not take the table: ${describe(err)}`);
  }

  for (let wave = 1; remaining.length > 0; wave++) {
    if (step.signal.aborted) return fail(wave, [remaining[0]!], `aborted: ${describe(step.signal.reason)}`, 'aborted');
    if (lost) return fail(wave, [remaining[0]!], lost);
    // a release does not finish on a host it cannot reach: the next host out of rotation fails the waves
    const first = fleet.rotation(remaining[0]!);
    if (!first.in) return fail(wave, [remaining[0]!], `host ${remaining[0]} is out of rotation: ${first.reason}`);
    const picked = await roomFor(wave);
    if (!Array.isArray(picked)) return picked;
    const hosts = picked;
    remaining.splice(0, hosts.length);
    of = Math.max(of, wave + Math.ceil(remaining.length / waveSize(policy.waves)));
    const away = hosts.map((h) => [h, fleet.rotation(h)] as const).find(([, r]) => !r.in);
    if (away) return fail(wave, hosts, `host ${away[0]} is out of rotation: ${(away[1] as { reason: string }).reason}`);
    await emit('rollout.wave.started', { environment: env.name, wave, of, hosts });

    // 1. the new version beside the stable one on the wave's hosts
    let fresh: InstanceInfo[] = [];
    try {
      const count = hosts.reduce((n, h) => n + instancesPerHost(env, release.service, stable, h), 0);
      fresh = await env.target.start(
        { service: release.service, version: next, environment: env.name, artifactDir: release.artifactDir, command: service.command, env: { ...service.env, ...env.env }, health: service.health, stopGraceMs: service.stopGraceMs, role: 'candidate' },
        count,
        { hosts, signal: step.signal },
      );
      a.started.push(...fresh.map((i) => i.id));
    } catch (err) {
      if (step.signal.aborted) return fail(wave, hosts, `aborted: ${describe(step.signal.reason)}`, 'aborted');
      return fail(wave, hosts, `instances of ${next} did not start: ${describe(err)}${err instanceof GreenlightError && err.hint ? ` (${err.hint})` : ''}`);
    }

    // 2. the wave's hosts move to the new version
    for (const h of hosts) converted.add(h);
    let before: RouterStats | undefined;
    try {
      before = await env.traffic.stats().catch(() => undefined);
      await push();
    } catch (err) {
      return fail(wave, hosts, `the router did not take the table: ${describe(err)}`);
    }

    // 3. watched for verify_for before the next wave
    const problem = await watchWave({ a, hosts, fresh, before, lost: () => lost, setWake: (w) => (wakeUp = w) });
    if (problem) return fail(wave, hosts, problem, step.signal.aborted ? 'aborted' : 'rolled_back');
    await emit('rollout.wave.passed', { environment: env.name, wave, of, hosts, instances: fresh.length });
  }
  off();
  return 'passed';
}

async function watchWave(w: { a: WavesArgs; hosts: string[]; fresh: InstanceInfo[]; before: RouterStats | undefined; lost: () => string | undefined; setWake: (f: () => void) => void }): Promise<string | undefined> {
  const { step, policy, previous } = w.a;
  const { release, env, deps } = step;
  const clock = deps.clock;
  const service = deps.runtime.service(release.service)!;
  const until = clock.now() + policy.waves.verify_for;
  const post = env.checks.filter((c) => c.phase === 'post');
  for (let first = true; first || clock.now() < until; first = false) {
    if (step.signal.aborted) return `aborted: ${describe(step.signal.reason)}`;
    const gone = w.lost();
    if (gone) return gone;
    // every instance of the wave still ready, in rotation, and answering its health path at its host
    const serving = new Set(servingInstances(env, release.service, release.version).map((i) => i.id));
    for (const i of w.fresh) {
      if (!serving.has(i.id)) {
        const now = env.target.list({ service: release.service, environment: env.name }).find((x) => x.id === i.id);
        return `instance ${i.id} on host ${i.host} is ${now ? now.state : 'gone'}${now?.host && fleetOf(env.target)?.rotation(now.host).in === false ? ' (host out of rotation)' : ''}`;
      }
      const host = new URL(i.url).hostname;
      if (!(await probeHealth(i.port, service.health.path, Math.max(1000, service.health.timeoutMs / 4), clock, host))) {
        return `instance ${i.id} on host ${i.host} does not answer GET ${service.health.path} at ${host}:${i.port}`;
      }
    }
    if (post.length) {
      const r = await runChecks(
        post,
        {
          environment: env.name,
          service: release.service,
          release: { version: release.version, digest: release.digest, requires: release.requires, artifactPath: release.artifactDir },
          routerUrl: env.routerUrl,
          instanceUrls: w.fresh.map((i) => i.url),
          dependencies: env.dependencies,
          signal: step.signal,
          clock,
        },
        { events: deps.events, actor: 'controller', subject: `deployment/${step.id}` },
      );
      if (r.verdict !== 'pass') return `post checks: ${r.results.filter((x) => x.verdict !== 'pass').map((x) => `${x.name}: ${x.message}`).join('; ')}`;
    }
    // what clients of the new version saw since the wave began, against stable's whole record on
    // this router: the last waves leave stable little or no traffic of its own to compare with
    if (w.before) {
      const now = await env.traffic.stats().catch(() => undefined);
      if (now) {
        const verdict = analyse(sampleSince(now, w.before, release.version), sampleSince(now, undefined, previous.version), policy.analysis);
        if (verdict.verdict === 'fail') return `analysis: ${verdict.summary}`;
      }
    }
    const left = until - clock.now();
    if (left <= 0) break;
    await new Promise<void>((resolve) => {
      const ac = new AbortController();
      w.setWake(() => ac.abort());
      void clock.sleep(Math.min(WATCH_EVERY_MS, left), AbortSignal.any([ac.signal, step.signal])).catch(() => undefined).then(() => resolve());
    });
  }
  return undefined;
}
