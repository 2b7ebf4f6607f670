import { test } from 'node:test';
import { queryType } from '../events/log.ts';
import assert from 'node:assert/strict';
import { pipelineFixture, type PipelineFixture } from './testing.ts';
import type { RolloutPolicyInput } from './schema.ts';
import { clientIdFor } from '../router/testing.ts';
import { createAlerting } from '../alerting/alerting.ts';
import { alertingConfigSchema } from '../alerting/schema.ts';
import { HttpReceiver } from '../alerting/notifiers/loopback-receivers.ts';
import { systemClock } from '../clock/clock.ts';
import { pageStarvedRollouts } from '../app/starved-rollouts.ts';

/** A bounded client load against a router: `concurrency` loops, at most maxRequests or maxMs. */
function load(url: string, opts: { concurrency?: number; maxRequests?: number; maxMs?: number } = {}) {
  const stats = { requests: 0, failed: 0, byVersion: new Map<string, number>(), failures: [] as string[] };
  let stop = false;
  const until = Date.now() + (opts.maxMs ?? 20_000);
  const max = opts.maxRequests ?? 20_000;
  const loop = async () => {
    while (!stop && Date.now() < until && stats.requests < max) {
      try {
        const res = await fetch(url);
        const text = await res.text();
        stats.requests++;
        if (res.status >= 500) {
          stats.failed++;
          if (stats.failures.length < 5) stats.failures.push(`${res.status} ${res.headers.get('x-greenlight-version')} ${text.slice(0, 200)}`);
        }
        const v = res.headers.get('x-greenlight-version') ?? '?';
        stats.byVersion.set(v, (stats.byVersion.get(v) ?? 0) + 1);
      } catch (err) {
        stats.requests++;
        stats.failed++;
        if (stats.failures.length < 5) stats.failures.push(String((err as Error).cause ?? err));
      }
    }
  };
  const loops = Array.from({ length: opts.concurrency ?? 4 }, loop);
  return { stats, stop: async () => ((stop = true), await Promise.all(loops)) };
}

const fast: RolloutPolicyInput = { steps: [{ weight: 10, hold: '300ms' }, { weight: 50, hold: '300ms' }], min_requests: 5, interval: '50ms' };

/** Waits (up to ~6 s) until the log holds an event of this type. */
async function untilEvent(f: PipelineFixture, type: string): Promise<void> {
  for (let i = 0; i < 300 && (await f.events.query({ types: [type] })).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
}

async function withStable(f: PipelineFixture): Promise<void> {
  await f.register('1.0.0');
  await f.register('2.0.0');
  const d = await (await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done;
  assert.equal(d.state, 'promoted');
}

test('a canary answering 500 to every request is rolled back: the table first, then its instances', async (t) => {
  // synthetic checks off: they refuse such a canary before any user request (synthetic.test.ts);
  // this is the analysis's own guard behind them
  const f = await pipelineFixture([{ name: 'production', instances: 2, synthetic: false, rollout: { ...fast, steps: [{ weight: 20, hold: '30s' }] } }], { versionEnv: { '2.0.0': { FAKE_STATUS: '500' } } });
  t.after(() => f.close());
  await withStable(f);
  const l = load(f.routers.get('production')!.url);
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
  await l.stop();
  assert.equal(d.state, 'rolled_back');
  assert.match(d.reason!, /fail: errors: canary 5xx 100%/);
  const types = (await f.events.query({ subject: `deployment/${d.id}` })).map((e) => e.type);
  assert.ok(types.indexOf('rollout.weight.zero') > types.indexOf('analysis.verdict'));
  const zero = (await queryType(f.events, 'rollout.weight.zero'))[0]!;
  const stopped = (await queryType(f.events, 'instance.stopped')).filter((e) => e.data.version === '2.0.0');
  assert.ok(stopped.length === 2 && stopped.every((e) => e.seq > zero.seq), 'canary instances stop after the weight is zero');
  const table = f.routers.get('production')!.router.table()!;
  assert.deepEqual(table.versions.filter((v) => v.weight > 0).map((v) => v.version), ['1.0.0']);
  const ended = (await queryType(f.events, 'deployment.environment.rolled_back'))[0]!;
  const impact = ended.data.impact as { canaryFailed: number; canaryRequests: number; canaryRescued: number; failed: number; requests: number };
  assert.ok(impact.canaryFailed >= 1 && impact.canaryFailed === impact.canaryRequests, JSON.stringify(impact));
  assert.ok(impact.failed <= impact.requests);
  assert.equal(f.state.view.stable.get('production/web')?.version, '1.0.0');
  // The canary's 500s are the evidence, but each GET it failed was answered by stable instead:
  // the client saw none of them.
  assert.equal(impact.canaryRescued, impact.canaryFailed);
  assert.equal(impact.failed, 0);
  assert.equal(l.stats.failed, 0, l.stats.failures.join(' | '));
});

test('after a rollback, a canary that cannot be stopped is recorded, not swallowed; traffic stays on stable', async (t) => {
  const f = await pipelineFixture([{ name: 'production', instances: 1, synthetic: false, rollout: { ...fast, steps: [{ weight: 20, hold: '30s' }] } }], { versionEnv: { '2.0.0': { FAKE_STATUS: '500' } } });
  t.after(() => f.close());
  await withStable(f);
  // the target fails to stop anything from now on (a host that stopped answering, say)
  const target = f.targets.get('production')!;
  const stop = target.stop.bind(target);
  target.stop = () => Promise.reject(new Error('host web-1 did not answer the stop'));
  const l = load(f.routers.get('production')!.url);
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
  await l.stop();
  target.stop = stop;
  assert.equal(d.state, 'rolled_back');
  const failed = await queryType(f.events, 'rollout.cleanup.failed');
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.data.task, 'stop');
  assert.match(failed[0]!.data.error, /did not answer the stop/);
  assert.ok(failed[0]!.data.instances!.length >= 1);
  const zero = (await queryType(f.events, 'rollout.weight.zero'))[0]!;
  assert.ok(failed[0]!.seq > zero.seq, 'traffic was back on stable before the stop was tried');
  const table = f.routers.get('production')!.router.table()!;
  assert.deepEqual(table.versions.filter((v) => v.weight > 0).map((v) => v.version), ['1.0.0']);
});

test('a healthy canary goes through every step and is promoted', async (t) => {
  const f = await pipelineFixture([{ name: 'production', instances: 1, rollout: fast }]);
  t.after(() => f.close());
  await withStable(f);
  const l = load(f.routers.get('production')!.url);
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
  await l.stop();
  assert.equal(d.state, 'promoted', d.reason);
  const steps = (await queryType(f.events, 'rollout.step.started')).map((e) => e.data.weight);
  assert.deepEqual(steps, [10, 50]);
  assert.equal(l.stats.failed, 0, l.stats.failures.join(' | '));
  assert.ok((l.stats.byVersion.get('2.0.0') ?? 0) > 0);
  assert.equal(f.state.view.stable.get('production/web')?.version, '2.0.0');
});

test('a manual step waits for promote; pause holds a step; every command is an event', async (t) => {
  const f = await pipelineFixture([{ name: 'production', instances: 1, rollout: { ...fast, steps: [{ weight: 10, hold: '100ms' }, { pause: true }, { weight: 50, hold: '100ms' }] } }]);
  t.after(() => f.close());
  await withStable(f);
  const l = load(f.routers.get('production')!.url);
  const h = await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' });
  await untilEvent(f, 'rollout.paused');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(f.state.view.deployments.get(h.id)!.state, 'running', 'still waiting at the manual step');
  await f.deployer.command('web', 'next', 'user:ann');
  const d = await h.done;
  await l.stop();
  assert.equal(d.state, 'promoted', d.reason);
  const req = await queryType(f.events, 'rollout.promote.requested');
  assert.equal(req[0]!.actor, 'user:ann');
});

test('abort during a rollout puts traffic back on stable', async (t) => {
  const f = await pipelineFixture([{ name: 'production', instances: 1, rollout: { ...fast, steps: [{ weight: 10, hold: '60s' }] } }]);
  t.after(() => f.close());
  await withStable(f);
  const l = load(f.routers.get('production')!.url);
  const h = await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' });
  await untilEvent(f, 'rollout.step.started');
  f.deployer.abort('web', 'user:ann');
  const d = await h.done;
  await l.stop();
  assert.equal(d.state, 'aborted');
  assert.equal((await queryType(f.events, 'rollout.abort.requested'))[0]?.actor, 'user:ann');
  assert.deepEqual(f.routers.get('production')!.router.table()!.versions.filter((v) => v.weight > 0).map((v) => v.version), ['1.0.0']);
  assert.equal(l.stats.failed, 0);
});

test('fair comparison: a fresh baseline of stable runs beside the canary and is compared with it', async (t) => {
  const f = await pipelineFixture([{ name: 'production', instances: 1, rollout: { ...fast, baseline: 'fresh' } }]);
  t.after(() => f.close());
  await withStable(f);
  const l = load(f.routers.get('production')!.url);
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
  await l.stop();
  assert.equal(d.state, 'promoted', d.reason);
  assert.ok((l.stats.byVersion.get('1.0.0+baseline') ?? 0) > 0, 'the baseline got traffic');
  const verdicts = await queryType(f.events, 'analysis.verdict');
  assert.ok(verdicts.every((v) => v.data.controlVersion === '1.0.0+baseline'));
  assert.equal(f.targets.get('production')!.list({ role: 'baseline' }).length, 0, 'the baseline is stopped at the end');
});

test('a crashing canary instance fails the canary; a crashing stable instance does not', async (t) => {
  const f = await pipelineFixture([{ name: 'production', instances: 2, rollout: { ...fast, steps: [{ weight: 20, hold: '1500ms' }] } }]);
  t.after(() => f.close());
  await withStable(f);
  const l = load(f.routers.get('production')!.url);
  const h = await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' });
  await untilEvent(f, 'rollout.step.started');
  const target = f.targets.get('production')!;
  target.crash(target.list({ version: '1.0.0' })[0]!.id);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(f.state.view.deployments.get(h.id)!.state, 'running', 'a stable crash does not fail the rollout');
  target.crash(target.list({ version: '2.0.0' })[0]!.id);
  const d = await h.done;
  await l.stop();
  assert.equal(d.state, 'rolled_back');
  assert.match(d.reason!, /canary instance .* crashed/);
});

test('when the router cannot be read, the verdict is error (not fail) and the rollout pauses for a person', async (t) => {
  const f = await pipelineFixture([{ name: 'production', instances: 1, rollout: { ...fast, error_grace: '300ms', steps: [{ weight: 10, hold: '100ms' }] } }]);
  t.after(() => f.close());
  await withStable(f);
  const env = f.runtime.environments('web')[0]!;
  const h = await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' });
  await untilEvent(f, 'rollout.step.started');
  env.traffic.stats = async () => {
    throw new Error('router unreachable');
  };
  await untilEvent(f, 'rollout.paused');
  const paused = await queryType(f.events, 'rollout.paused');
  assert.match(String(paused[0]!.data.reason), /could not measure for \d+ s/);
  const verdicts = (await queryType(f.events, 'analysis.verdict')).map((e) => e.data.verdict);
  assert.ok(verdicts.includes('error') && !verdicts.includes('fail'));
  assert.equal(f.state.view.deployments.get(h.id)!.state, 'running');
  f.deployer.abort('web', 'test');
  assert.equal((await h.done).state, 'aborted');
});

test('a client the router put on a failing canary is moved back to stable on its next request, without an error', async (t) => {
  const f = await pipelineFixture([{ name: 'production', instances: 1, synthetic: false, rollout: { ...fast, steps: [{ weight: 30, hold: '30s' }] } }], { versionEnv: { '2.0.0': { FAKE_STATUS: '500' } } });
  t.after(() => f.close());
  await withStable(f);
  const url = f.routers.get('production')!.url;
  const l = load(url);
  const h = await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' });
  // A browser whose client id hashes onto the canary at 30% (src/router/assignment.test.ts covers
  // the assignment; here the canary may fail before this client's first request).
  const cookie = `gl_cid=${clientIdFor('2.0.0', 0.3, true)}`;
  const d = await h.done;
  await l.stop();
  assert.equal(d.state, 'rolled_back');
  const res = await fetch(url, { headers: { cookie } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-greenlight-version'), '1.0.0');
  assert.deepEqual(res.headers.getSetCookie(), [], 'its client id is kept');
});

test('a step without enough traffic to judge says what it waits for, then pauses after max_hold with its numbers and pages a warning', async (t) => {
  const f = await pipelineFixture([{ name: 'production', instances: 1, rollout: { ...fast, min_requests: 5, max_hold: '400ms', error_grace: '60s', steps: [{ weight: 10, hold: '100ms' }] } }]);
  t.after(() => f.close());
  const hook = await HttpReceiver.start({ ok: { status: 200, body: 'ok' } });
  t.after(() => hook.close());
  const alerting = createAlerting(alertingConfigSchema.parse({ route: { receiver: 'team', group_wait: '0s' }, receivers: [{ name: 'team', notifiers: [{ kind: 'webhook', url: hook.url('/team'), retry: { attempts: 1 } }] }] }), { clock: systemClock, log: f.events });
  t.after(() => alerting.stop());
  const unpage = pageStarvedRollouts({ events: f.events, clock: systemClock, receive: (a, o) => alerting.receive(a, o) });
  t.after(unpage);
  await withStable(f);
  const h = await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' });
  await untilEvent(f, 'rollout.paused');
  const waiting = await queryType(f.events, 'rollout.waiting');
  assert.equal(waiting.length, 1, 'one notice, before the pause');
  assert.match(String(waiting[0]!.data.message), /^canary 0 of 5 requests in \d+ ms at 10%; production serves 0 req\/s: nothing to judge the canary on/);
  assert.equal(f.deployer.rolloutState('web')?.paused, true);
  const paused = (await queryType(f.events, 'rollout.paused'))[0]!;
  assert.ok(paused.seq > waiting[0]!.seq);
  assert.equal(paused.data.cause, 'starved');
  assert.match(String(paused.data.reason), /^canary 0 of 5 requests in \d+ ms at 10%; production serves 0 req\/s.*; greenlight promote web, greenlight resume web, greenlight abort web$/);
  const numbers = paused.data.starvation as { canaryRequests: number; minRequests: number; weight: number; productionRate: number };
  assert.deepEqual([numbers.canaryRequests, numbers.minRequests, numbers.weight, numbers.productionRate], [0, 5, 10, 0]);
  // paged through the alerting pipeline as a warning
  await hook.waitForRequests(1);
  const sent = JSON.parse(hook.requests[0]!.body) as { severity: string; summary: string; labels: Record<string, string>; annotations: Record<string, string> };
  assert.equal(sent.severity, 'warning');
  assert.equal(sent.labels.alertname, 'RolloutStarved');
  assert.equal(sent.labels.deployment, h.id);
  assert.match(sent.summary, /web@2\.0\.0 paused at 10% in production: too little canary traffic to judge/);
  assert.match(sent.annotations.description!, /canary 0 of 5 requests/);
  assert.equal(f.state.view.deployments.get(h.id)!.state, 'running');
  await f.deployer.command('web', 'full', 'user:ann');
  assert.equal((await h.done).state, 'promoted');
  assert.equal(alerting.dispatcher.alerts().filter((a) => a.labels.alertname === 'RolloutStarved' && (a.endsAt === undefined || a.endsAt > Date.now())).length, 0, 'resolved once the rollout moved on');
});
