// Progressive delivery: the canary gets a small share of live traffic, is compared with a control
// (the stable version, or a fresh baseline of it) on the same window, and is pulled back the
// moment the evidence says it is worse. On a fail the router's table is changed first, before
// anything slow; only then are instances stopped and the failure diagnosed.
import { analyse, LatencyWindows, type AnalysisResult } from '../analysis/verdict.ts';
import { parseCheck } from '../checks/registry.ts';
import { checkResultEvent } from '../checks/runner.ts';
import { describe } from '../errors/errors.ts';
import type { RouterStats } from '../router/stats.ts';
import type { InstanceEvent } from '../targets/target.ts';
import { upstreamsOf } from './upstreams.ts';
import { fleetOf } from '../fleet/fleet.ts';
import type { Placement } from '../state/projection.ts';
import type { RolloutControl } from './control.ts';
import type { EndStep, EnvironmentOutcome, EnvironmentStep } from './step.ts';
import { sampleSince, totalsSince } from './samples.ts';
import { starvation, WAIT_NOTICE_MS } from './starvation.ts';
import { SeriesRecorder } from './series.ts';
import { createMetricSource } from '../metrics/registry.ts';
import type { MetricWindow } from '../metrics/source.ts';
import type { RolloutPolicy } from './schema.ts';
import type { Split } from './traffic.ts';

export interface CanaryArgs {
  step: EnvironmentStep;
  policy: RolloutPolicy;
  previous: Placement;
  control: RolloutControl;
  /** the canary's instance ids (started before the rollout) */
  canaryIds: string[];
  end: EndStep;
}

/** Resolves 'promote' when every step passed (the caller then moves 100% and verifies), or the outcome of a rollback. */
export async function runCanary(a: CanaryArgs): Promise<'promote' | EnvironmentOutcome> {
  const { step, policy, previous, control } = a;
  const { release, env, emit, deps } = step;
  const clock = deps.clock;
  const canary = release.version;
  const stable = previous.version;
  const fresh = policy.baseline === 'fresh';
  const baselineLabel = `${stable}+baseline`;
  const controlLabel = fresh ? baselineLabel : stable;
  const service = deps.runtime.service(release.service)!;
  const upstreams = (version: string, role?: 'baseline') => upstreamsOf(env, release.service, version, role ? { role } : {});

  let baselineIds: string[] = [];
  if (fresh) {
    const stableRelease = deps.state.releases.get(`${release.service}@${stable}`);
    if (!stableRelease) return a.end('failed', `the stable release ${release.service}@${stable} is not registered, so no baseline can be started`);
    await emit('deployment.stage', { environment: env.name, stage: 'baseline', message: `starting a fresh baseline of ${stable} (${a.canaryIds.length} instance(s)) beside the canary` });
    try {
      const started = await env.target.start(
        { service: release.service, version: stable, environment: env.name, artifactDir: stableRelease.artifactDir, command: service.command, env: { ...service.env, ...env.env }, health: service.health, stopGraceMs: service.stopGraceMs, role: 'baseline' },
        a.canaryIds.length,
        { signal: step.signal },
      );
      baselineIds = started.map((i) => i.id);
    } catch (err) {
      return a.end('blocked', `the baseline of ${stable} did not start: ${describe(err)}`, { stage: 'baseline' });
    }
  }

  const split = (canaryWeight: number): Split[] => [
    { version: stable, weight: Math.max(0, 100 - canaryWeight * (fresh ? 2 : 1)), upstreams: upstreams(stable) },
    // a canary with no ready instance (all crashed) gets no traffic until one is back
    ...[upstreams(canary)].map((u) => ({ version: canary, weight: u.length ? canaryWeight : 0, upstreams: u })),
    ...(fresh ? [{ version: baselineLabel, weight: canaryWeight, upstreams: upstreams(stable, 'baseline') }] : []),
  ];

  let crashes: { id: string; detail: string }[] = [];
  const off = env.target.onInstanceEvent((e: InstanceEvent) => {
    if (e.instance.environment !== env.name || e.instance.service !== release.service) return;
    if (e.type === 'instance.crashed' && e.instance.version === canary) {
      crashes.push({ id: e.instance.id, detail: `exit ${String(e.data.exitCode ?? e.data.signal ?? '?')}` });
      control.wake();
    }
    // A replaced instance may come back on another port: keep the table pointing at live instances.
    if (e.type === 'instance.ready' || e.type === 'instance.restarted') refreshUpstreams = true;
  });
  let refreshUpstreams = false;
  // A host leaving rotation (unreachable, drained): its instances leave the table on the next
  // tick (woken at once); losing the host the canary runs on fails the canary.
  let hostLost: string | undefined;
  const fleet = fleetOf(env.target);
  const offRotation = fleet?.onRotation((host, r) => {
    refreshUpstreams = true;
    if (!r.in) {
      const onIt = env.target.list({ service: release.service, environment: env.name }).some((i) => i.host === host && a.canaryIds.includes(i.id));
      if (onIt) hostLost ??= `the canary's host ${host} left rotation: ${r.reason}`;
      void emit('rollout.host.excluded', { environment: env.name, host, reason: r.reason }).catch(() => undefined);
    }
    control.wake();
  });
  const offAll = () => {
    off();
    offRotation?.();
  };
  let weight = 0;
  let before: RouterStats | undefined;
  let last: AnalysisResult | undefined;
  let lastStats: RouterStats | undefined;
  let verdictAt: number | undefined;

  const rollback = async (reason: string, kind: 'rolled_back' | 'aborted'): Promise<EnvironmentOutcome> => {
    // 1. Traffic first: one table push, nothing before it.
    const table = await env.traffic.route(split(0).map((s) => (s.version === stable ? { ...s, weight: 100 } : s)));
    const weightZeroAt = clock.now();
    await emit('rollout.weight.zero', { environment: env.name, revision: table.revision, reason, at: weightZeroAt });
    await flushSeries();
    await deps.events.append({
      type: 'router.switched',
      actor: 'controller',
      subject: `environment/${env.name}/${release.service}`,
      data: { deploymentId: step.id, environment: env.name, service: release.service, to: stable, from: canary, reason, revision: table.revision },
    });
    offAll();
    // 2. Then the slow parts: let routed requests finish, stop the canary (and baseline), measure, diagnose.
    await clock.sleep(env.drainMs).catch(() => undefined);
    // A failure here must not undo the rollback (traffic is already safe) but must not vanish either:
    // instances left running, or a diagnosis that could not run, are recorded for the person on call.
    const stopIds = [...a.canaryIds, ...baselineIds];
    await env.target.stop(stopIds).catch((err: unknown) => cleanupFailed('stop', err, stopIds));
    const after = await env.traffic.stats().catch(() => lastStats);
    const impact = after && before ? impactOf(after, before) : undefined;
    await diagnose(step).catch((err: unknown) => cleanupFailed('diagnosis', err));
    return a.end(kind, reason, { stage: 'canary', weightZeroAt, verdictAt: verdictAt ?? null, ...(impact ? { impact } : {}) });

    async function cleanupFailed(task: 'stop' | 'diagnosis', err: unknown, instances?: string[]): Promise<void> {
      await emit('rollout.cleanup.failed', { environment: env.name, task, ...(instances ? { instances } : {}), error: describe(err) }).catch(() => undefined);
    }

    function impactOf(now: RouterStats, then: RouterStats) {
      const t = totalsSince(now, then);
      const c = now.versions[canary];
      const cs = sampleSince(now, then, canary);
      return {
        requests: t.requests,
        failed: t.failed,
        canaryRequests: cs.requests,
        canaryFailed: cs.errors,
        /** canary failures the router answered from stable instead (safe requests): the client never saw them */
        canaryRescued: t.rescued,
        clients: c?.clients ?? 0,
        clientsWithErrors: c?.clientsWithErrors ?? 0,
        firstCanaryRequestAt: c?.firstRequestAt ?? null,
        firstFailedAt: c?.firstErrorAt ?? null,
        verdictAt: verdictAt ?? null,
        weightZeroAt,
        stableVersion: stable,
        canaryVersion: canary,
      };
    }
  };

  try {
    before = await env.traffic.stats();
  } catch (err) {
    offAll();
    await env.target.stop(baselineIds).catch(() => undefined);
    return a.end('blocked', `the router of ${env.name} cannot be read, so the canary could not be analysed: ${describe(err)}`, { stage: 'canary' });
  }

  // Extra metrics (analysis.metrics[]): each read from its source at most once a second, all
  // readings of the window kept per version; a source that cannot answer makes that metric `error`.
  const canaryStartedAt = clock.now();
  const extras = policy.analysis.metrics.map((m) => ({ name: m.name, kind: m.source.kind, source: createMetricSource(m.source, m.name, { clock, routerStats: () => env.traffic.stats() }) }));
  const extraReadings: Record<string, Record<string, number[]>> = { [canary]: {}, [controlLabel]: {} };
  const extraErrors: Record<string, string> = {};
  const extraEvery = Math.max(policy.interval, 1000);
  let extraReadAt = -Infinity;
  const readExtras = async () => {
    if (extras.length === 0 || clock.now() - extraReadAt < extraEvery) return;
    extraReadAt = clock.now();
    const w: MetricWindow = {
      environment: env.name,
      service: release.service,
      since: canaryStartedAt,
      now: clock.now(),
      versions: [
        { label: canary, version: canary, instanceUrls: upstreams(canary) },
        { label: controlLabel, version: stable, instanceUrls: fresh ? upstreams(stable, 'baseline') : upstreams(stable) },
      ],
    };
    await Promise.all(
      extras.map(async (x) => {
        try {
          const r = await x.source.read(w);
          delete extraErrors[x.name];
          extraReadings[canary]![x.name] = r[canary] ?? [];
          extraReadings[controlLabel]![x.name] = r[controlLabel] ?? [];
        } catch (err) {
          extraErrors[x.name] = `${x.source.describe}: ${describe(err)}`;
        }
      }),
    );
  };
  const sourceOf = new Map<string, string>([['error_rate', 'router'], ['latency', 'router'], ...extras.map((x) => [x.name, x.kind] as [string, string])]);
  const metricVerdicts = new Map<string, string>();

  const series = new SeriesRecorder(clock.now());
  // latency per time window: the control is compared at the canary's moments (analysis/windows.ts)
  const latencyWindows = new LatencyWindows();
  const flushSeries = async () => {
    const points = series.take(clock.now());
    if (points.length) await emit('analysis.samples', { environment: env.name, controlVersion: controlLabel, points });
  };

  let errorSince: number | undefined;
  let lastEmitted = { verdict: '', at: 0 };
  const analyseNow = async (stepIndex: number): Promise<AnalysisResult> => {
    let result: AnalysisResult;
    try {
      const now = await env.traffic.stats();
      lastStats = now;
      await readExtras();
      const c = { ...sampleSince(now, before, canary), metrics: extraReadings[canary], metricErrors: extraErrors };
      const ctl = { ...sampleSince(now, before, controlLabel), metrics: extraReadings[controlLabel] };
      latencyWindows.record(clock.now(), c.latency, ctl.latency);
      result = analyse(c, ctl, policy.analysis, latencyWindows.matched());
      if (series.add(clock.now(), weight, c, ctl, result)) await flushSeries();
    } catch (err) {
      result = { verdict: 'error', summary: `error: could not measure: ${describe(err)}`, metrics: [], alphaPerMetric: 0 };
    }
    if (result.verdict === 'fail') verdictAt ??= clock.now();
    // each metric's verdict is its own event, with its numbers, when it changes
    for (const m of result.metrics) {
      if (metricVerdicts.get(m.metric) === m.verdict) continue;
      metricVerdicts.set(m.metric, m.verdict);
      await emit('analysis.metric.verdict', { environment: env.name, step: stepIndex, weight, source: sourceOf.get(m.metric) ?? 'router', controlVersion: controlLabel, ...m });
    }
    const changed = result.verdict !== lastEmitted.verdict;
    if (changed || clock.now() - lastEmitted.at >= 10_000 || result.verdict === 'fail') {
      lastEmitted = { verdict: result.verdict, at: clock.now() };
      const m = result.metrics.find((x) => x.metric === 'error_rate') as { canary?: { errors: number; requests: number }; control?: { errors: number; requests: number } } | undefined;
      await emit('analysis.verdict', {
        environment: env.name,
        step: stepIndex,
        weight,
        verdict: result.verdict,
        summary: result.summary,
        metrics: result.metrics,
        ...(m?.canary ? { canary: m.canary, control: m.control } : {}),
        controlVersion: controlLabel,
      });
    }
    last = result;
    return result;
  };

  // Waits one analysis interval, or less when a person acts or an instance crashes.
  const tick = async () => {
    const cmd = control.nextCommand();
    await Promise.race([clock.sleep(policy.interval, step.signal).catch(() => undefined), cmd.promise]);
    cmd.cancel();
  };

  for (let i = 0; i < policy.steps.length; i++) {
    const s = policy.steps[i]!;
    if ('pause' in s) {
      control.pause(`manual step ${i + 1}: waiting for greenlight promote`);
      await emit('rollout.paused', { environment: env.name, step: i, weight, reason: control.pauseReason, actor: 'controller' });
    } else {
      weight = s.weight;
      const table = await env.traffic.route(split(weight));
      await emit('rollout.step.started', { environment: env.name, step: i, weight, holdMs: s.hold, revision: table.revision });
    }
    const stepStart = clock.now();
    const startRequests = last ? sampleSince(lastStats ?? before, before, canary).requests : 0;
    const stepStats = lastStats ?? before;
    const minRequests = 'pause' in s ? 0 : (s.min_requests ?? policy.min_requests);
    let waitNoticed = false;
    control.waiting = undefined;
    // a resumed step gets another max_hold before it pauses again
    let maxHoldFrom = stepStart;
    let wasPaused = control.paused;
    const need = (held: number, stepRequests: number, paused: boolean) =>
      starvation(
        {
          environment: env.name,
          service: release.service,
          weight,
          canaryRequests: stepRequests,
          minRequests,
          heldMs: held,
          productionRate: held > 0 ? (totalsSince(lastStats ?? stepStats, stepStats).requests / held) * 1000 : 0,
        },
        paused,
      );
    for (;;) {
      if (step.signal.aborted) return await rollback(`aborted: ${describe(step.signal.reason)}`, 'aborted');
      if (refreshUpstreams) {
        refreshUpstreams = false;
        await env.traffic.route(split(weight)).catch(() => undefined);
      }
      if (hostLost) return await rollback(hostLost, 'rolled_back');
      if (crashes.length >= policy.canary_crash_limit) {
        verdictAt ??= clock.now();
        const reason = `canary instance ${crashes.map((c) => `${c.id} crashed (${c.detail})`).join(', ')}`;
        await emit('analysis.verdict', { environment: env.name, step: i, weight, verdict: 'fail', summary: `fail: ${reason}`, metrics: [], controlVersion: controlLabel });
        return await rollback(reason, 'rolled_back');
      }
      const r = await analyseNow(i);
      if (r.verdict === 'fail') return await rollback(r.summary, 'rolled_back');
      errorSince = r.verdict === 'error' ? (errorSince ?? clock.now()) : undefined;
      if (errorSince !== undefined && clock.now() - errorSince >= policy.error_grace && !control.paused) {
        control.pause(`the analysis could not measure for ${Math.round((clock.now() - errorSince) / 1000)} s (${r.summary}); resume, promote or abort`);
        await emit('rollout.paused', { environment: env.name, step: i, weight, reason: control.pauseReason, actor: 'controller' });
      }
      const promote = control.takePromote();
      if (promote === 'full') {
        offAll();
        await flushSeries();
        await env.target.stop(baselineIds).catch(() => undefined);
        return 'promote';
      }
      if (promote === 'next') break;
      if (wasPaused && !control.paused) maxHoldFrom = clock.now() - ('pause' in s ? 0 : s.hold);
      wasPaused = control.paused;
      if (!control.paused && !('pause' in s)) {
        const held = clock.now() - stepStart;
        const stepRequests = sampleSince(lastStats ?? before, before, canary).requests - startRequests;
        const enough = held >= s.hold && stepRequests >= minRequests;
        if (enough && (!policy.require_pass || r.verdict === 'pass')) break;
        if (clock.now() - maxHoldFrom >= s.hold + policy.max_hold && (!enough || policy.require_pass)) {
          if (stepRequests >= minRequests) {
            control.pause(`no pass after ${Math.round(held / 1000)} s at ${weight}% (${r.summary}); promote, resume or abort`);
            await emit('rollout.paused', { environment: env.name, step: i, weight, reason: control.pauseReason, actor: 'controller' });
          } else {
            // Starved: the pause says why in numbers, and pages (operations.ts) as a warning.
            const n = need(held, stepRequests, true);
            control.pause(`${n.message}; ${n.actions.join(', ')}`);
            await emit('rollout.paused', { environment: env.name, step: i, weight, reason: control.pauseReason, actor: 'controller', cause: 'starved', starvation: n });
          }
        } else if (!waitNoticed && stepRequests < minRequests && held >= Math.min(WAIT_NOTICE_MS, s.hold + Math.min(10_000, policy.max_hold / 2))) {
          // Said early (within a minute) so the person following the rollout knows what it waits for.
          waitNoticed = true;
          const n = need(held, stepRequests, false);
          control.waiting = n.message;
          await emit('rollout.waiting', { environment: env.name, step: i, weight, message: n.message, pausesInMs: Math.max(0, s.hold + policy.max_hold - (clock.now() - maxHoldFrom)), starvation: n });
        }
      }
      await tick();
    }
  }
  offAll();
  await flushSeries();
  control.waiting = undefined;
  await env.target.stop(baselineIds).catch(() => undefined);
  return 'promote';
}

/** After a rollback: is the release compatible with the dependencies running here? Recorded as evidence. */
async function diagnose(step: EnvironmentStep): Promise<void> {
  const { release, env, deps } = step;
  if (Object.keys(release.requires).length === 0) return;
  const check = parseCheck('diagnosis:compatibility', { kind: 'compatibility', timeout: '3s' });
  const result = await check.run({
    environment: env.name,
    service: release.service,
    release: { version: release.version, digest: release.digest, requires: release.requires, artifactPath: release.artifactDir },
    routerUrl: env.routerUrl,
    instanceUrls: [],
    dependencies: env.dependencies,
    ...(env.dependencyFaults ? { dependencyFaults: env.dependencyFaults } : {}),
    clock: deps.clock,
  });
  await deps.events.append(
    checkResultEvent(
      result,
      { phase: 'diagnosis', deploymentId: step.id, environment: env.name, service: release.service, version: release.version, digest: release.digest },
      { actor: 'controller', subject: `deployment/${step.id}` },
    ),
  );
}
