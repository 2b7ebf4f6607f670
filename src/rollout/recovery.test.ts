// A controller dying at each phase of a deployment, simulated in-process: the deployer is frozen
// right after a given event (its appends, routing and instance calls never return, as if the
// process were gone), then a fresh recovery runs against the same log, routers and instances.
// Whatever the phase, the outcome must be what the log says: promoted once the log recorded the
// new stable version (old instances drained and stopped), back on stable before that.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventLog, NewEvent, StoredEvent } from '../events/log.ts';
import { systemClock } from '../clock/clock.ts';
import { Deployer } from './deployer.ts';
import { recoverInterruptedDeployments } from './recovery.ts';
import type { Runtime } from './runtime.ts';
import { pipelineFixture, type PipelineFixture } from './testing.ts';

const never = <T>() => new Promise<T>(() => undefined);

/** A deployer that "dies" right after the first event matching `at` is appended. */
function mortalDeployer(f: PipelineFixture, at: (e: StoredEvent, seen: StoredEvent[]) => boolean) {
  let dead = false;
  const seen: StoredEvent[] = [];
  let died!: () => void;
  const death = new Promise<void>((r) => (died = r));
  const base = f.events as EventLog;
  const log: EventLog = Object.assign(Object.create(base) as EventLog, {
    async append(e: NewEvent) {
      if (dead) return never<StoredEvent>();
      const s = await base.append(e);
      seen.push(s);
      if (at(s, seen)) (dead = true), died();
      return s;
    },
    async appendAll(es: NewEvent[]) {
      if (dead) return never<StoredEvent[]>();
      const out = await base.appendAll(es);
      seen.push(...out);
      if (out.some((s) => at(s, seen))) (dead = true), died();
      return out;
    },
  });
  const freeze = <T extends object>(obj: T, methods: string[]): T =>
    new Proxy(obj, {
      get(t, k, r) {
        const v = Reflect.get(t, k, r) as unknown;
        if (typeof v !== 'function') return v;
        if (!methods.includes(String(k))) return (v as (...a: unknown[]) => unknown).bind(t);
        return (...a: unknown[]) => (dead ? never() : (v as (...a: unknown[]) => unknown).apply(t, a));
      },
    });
  const runtime: Runtime = {
    service: (n) => f.runtime.service(n),
    environments: (s) => f.runtime.environments(s).map((env) => ({ ...env, traffic: freeze(env.traffic, ['route', 'refresh']), target: freeze(env.target, ['start', 'stop']) })),
  };
  const deployer = new Deployer({ events: log, state: f.state.view, runtime, clock: systemClock });
  return { deployer, death };
}


/** Bounded load on a router, so canary steps see requests. */
function load(url: string) {
  let stop = false;
  const until = Date.now() + 30_000;
  const loop = (async () => {
    for (let i = 0; !stop && Date.now() < until && i < 20_000; i++) {
      await fetch(url).then((r) => r.arrayBuffer(), () => undefined);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return async () => ((stop = true), await loop);
}

const phases: { name: string; at: (e: StoredEvent, seen: StoredEvent[]) => boolean; promoted: boolean; env?: string }[] = [
  { name: 'staging: instances starting', at: (e) => e.type === 'deployment.stage' && e.data.environment === 'staging' && e.data.stage === 'instances', promoted: false },
  { name: 'staging: switched, verification window', at: (e) => e.type === 'router.switched' && e.data.environment === 'staging', promoted: false },
  { name: 'staging: drain window (stable changed, production not started)', at: (e) => e.type === 'environment.stable.changed' && e.data.environment === 'staging', promoted: false, env: 'staging' },
  { name: 'production: canary step 1', at: (e) => e.type === 'rollout.step.started' && e.data.environment === 'production', promoted: false },
  { name: 'production: canary step 2', at: (e, seen) => e.type === 'rollout.step.started' && seen.filter((s) => s.type === 'rollout.step.started').length === 2, promoted: false },
  { name: 'production: promotion', at: (e) => e.type === 'rollout.promoted', promoted: false },
  { name: 'production: verification after the switch', at: (e) => e.type === 'router.switched' && e.data.environment === 'production', promoted: false },
  { name: 'production: drain window, right after environment.stable.changed', at: (e) => e.type === 'environment.stable.changed' && e.data.environment === 'production', promoted: true },
  { name: 'production: drain, after the environment passed', at: (e) => e.type === 'deployment.environment.passed' && e.data.environment === 'production', promoted: true },
];

for (const phase of phases) {
  test(`controller dies at "${phase.name}": recovery finishes what the log says`, async (t) => {
    const f = await pipelineFixture([
      { name: 'staging', instances: 1, verifyForMs: 300 },
      { name: 'production', instances: 2, verifyForMs: 300, rollout: { steps: [{ weight: 10, hold: '200ms' }, { weight: 50, hold: '200ms' }], min_requests: 1, interval: '50ms' } },
    ]);
    t.after(() => f.close());
    await f.register('1.0.0');
    await f.register('2.0.0');
    assert.equal((await (await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done).state, 'promoted');
    const stopLoad = load(f.routers.get('production')!.url);
    t.after(stopLoad);
    const { deployer, death } = mortalDeployer(f, phase.at);
    const h = await deployer.start({ service: 'web', version: '2.0.0', actor: 'test' });
    await Promise.race([death, h.done]);
    assert.equal(f.state.view.deployments.get(h.id)!.state, 'running', 'the deployer died mid-way');

    const recovered = await recoverInterruptedDeployments({ events: f.events, state: f.state.view, runtime: f.runtime });
    assert.deepEqual(recovered, [h.id]);
    const d = f.state.view.deployments.get(h.id)!;
    assert.equal(d.state, phase.promoted ? 'promoted' : 'failed', d.reason);
    const stableChanged = (await f.events.query({ types: ['environment.stable.changed'] })).filter((e) => e.data.deploymentId === h.id).map((e) => e.data.environment);
    for (const env of ['staging', 'production']) {
      const expected = stableChanged.includes(env) ? '2.0.0' : '1.0.0';
      assert.equal(f.state.view.stable.get(`${env}/web`)?.version, expected, `${env} stable`);
      const table = f.routers.get(env)!.router.table()!;
      assert.deepEqual(table.versions.filter((v) => v.weight > 0).map((v) => v.version), [expected], `${env} router`);
      const live = f.targets.get(env)!.list({ service: 'web' }).filter((i) => i.state !== 'stopped');
      assert.deepEqual([...new Set(live.map((i) => i.version))], [expected], `${env}: only ${expected} instances left running, no orphans`);
      assert.ok(live.every((i) => i.role !== 'baseline'));
    }
    if (phase.env === 'staging') assert.match(d.reason!, /not started: production/);
    if (phase.promoted) assert.match(d.reason!, /finished after a controller restart/);
    const seqs = (await f.events.query()).map((e) => e.seq);
    assert.equal(seqs.length, seqs.at(-1), 'count(events) == max(seq)');
  });
}
