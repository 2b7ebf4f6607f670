// The canary judged on a metric only a metric source sees, with a real Prometheus (Debian's)
// scraping the real instances of both versions: a regression there is rolled back; Prometheus
// stopped mid-rollout is `error` (not `fail`) and pauses the rollout after error_grace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineFixture, type PipelineFixture } from './testing.ts';
import { prometheusMissing, startPrometheus, type TestPrometheus } from '../metrics/prometheus/testing.ts';
import type { RolloutPolicyInput } from './schema.ts';

async function untilEvent(f: PipelineFixture, type: string, pred: (d: Record<string, unknown>) => boolean = () => true, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await f.events.query({ types: [type] })).some((e) => pred(e.data as Record<string, unknown>))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${type} event within ${ms} ms`);
}

/** Keeps Prometheus' targets equal to the environment's running instances, labelled by version. */
function followInstances(f: PipelineFixture, prom: TestPrometheus): () => void {
  const sync = () =>
    prom.setTargets(
      f.targets
        .get('production')!
        .list({ service: 'web', environment: 'production' })
        .filter((i) => i.state === 'ready')
        .map((i) => ({ url: i.url, labels: { version: i.version, environment: 'production' } })),
    );
  return f.events.subscribe((e) => {
    if (e.type === 'instance.ready' || e.type === 'instance.stopped') sync();
  });
}

const queue = (prom: TestPrometheus) => ({
  name: 'queue_depth',
  direction: 'higher_is_worse' as const,
  minEffectAbsolute: 5,
  minSamples: 3,
  source: { kind: 'prometheus' as const, url: prom.url, query: 'sum(app_queue_depth{version="{{version}}",environment="{{environment}}"})', step: '500ms' },
});

/** Prometheus applies new targets at most every 5 s: wait until it scrapes the stable version. */
async function untilScraped(prom: TestPrometheus, version: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = (await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(`app_queue_depth{version="${version}"}`)}`).then((x) => x.json())) as { data: { result: unknown[] } };
    if (r.data.result.length > 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`prometheus never scraped ${version}`);
}

function withLoad(url: string): { stop(): Promise<void> } {
  let stop = false;
  const until = Date.now() + 60_000;
  const loops = Array.from({ length: 2 }, async () => {
    while (!stop && Date.now() < until) {
      await fetch(url).then((r) => r.text(), () => undefined);
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  return { stop: async () => void ((stop = true), await Promise.all(loops)) };
}

test('a regression only Prometheus sees (the queue grows) rolls the canary back, with the metric verdict as its own event', { skip: prometheusMissing }, async (t) => {
  const prom = await startPrometheus({ scrapeIntervalMs: 250 });
  t.after(() => prom.close());
  const rollout: RolloutPolicyInput = { steps: [{ weight: 50, hold: '60s' }], min_requests: 5, interval: '100ms', analysis: { metrics: [queue(prom)] } };
  const f = await pipelineFixture([{ name: 'production', instances: 1, rollout }], { versionEnv: { '1.0.0': { FAKE_METRICS: 'app_queue_depth 3' }, '2.0.0': { FAKE_METRICS: 'app_queue_depth 40' } } });
  t.after(() => f.close());
  const off = followInstances(f, prom);
  t.after(off);
  await f.register('1.0.0');
  await f.register('2.0.0');
  assert.equal((await (await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done).state, 'promoted');
  await untilScraped(prom, '1.0.0');
  const load = withLoad(f.routers.get('production')!.url);
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
  await load.stop();
  assert.equal(d.state, 'rolled_back', d.reason);
  assert.match(d.reason!, /queue_depth: canary queue_depth 40\.0 vs stable 3\.00 \(mean of \d+ and \d+ readings\)/);
  const metric = (await f.events.query({ types: ['analysis.metric.verdict'] })).map((e) => e.data as Record<string, any>).filter((x) => x.metric === 'queue_depth');
  const failed = metric.find((m) => m.verdict === 'fail');
  assert.ok(failed, JSON.stringify(metric));
  assert.equal(failed.source, 'prometheus');
  assert.equal(failed.canary.mean, 40);
  assert.equal(failed.control.mean, 3);
  // the router saw nothing wrong: the error rate never failed
  const router = (await f.events.query({ types: ['analysis.metric.verdict'] })).map((e) => e.data as Record<string, any>).filter((x) => x.metric === 'error_rate');
  assert.ok(router.every((m) => m.verdict !== 'fail'));
});

test('Prometheus stopped mid-rollout: the metric is error, not fail, and the rollout pauses after error_grace', { skip: prometheusMissing }, async (t) => {
  const prom = await startPrometheus({ scrapeIntervalMs: 250 });
  t.after(() => prom.close());
  const rollout: RolloutPolicyInput = { steps: [{ weight: 50, hold: '60s' }], min_requests: 5, interval: '100ms', error_grace: '4s', analysis: { metrics: [queue(prom)] } };
  const f = await pipelineFixture([{ name: 'production', instances: 1, rollout }], { versionEnv: { '1.0.0': { FAKE_METRICS: 'app_queue_depth 3' }, '2.0.0': { FAKE_METRICS: 'app_queue_depth 3' } } });
  t.after(() => f.close());
  const off = followInstances(f, prom);
  t.after(off);
  await f.register('1.0.0');
  await f.register('2.0.0');
  assert.equal((await (await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done).state, 'promoted');
  await untilScraped(prom, '1.0.0');
  const load = withLoad(f.routers.get('production')!.url);
  t.after(() => load.stop());
  const h = await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' });
  // readings flow first (the metric is measured), then Prometheus goes away
  await untilEvent(f, 'analysis.metric.verdict', (d) => d.metric === 'queue_depth' && d.verdict !== 'error');
  await prom.stop();
  await untilEvent(f, 'rollout.paused');
  const paused = (await f.events.query({ types: ['rollout.paused'] }))[0]!;
  assert.match(String(paused.data.reason), /could not measure .*queue_depth.*prometheus at http:\/\/127\.0\.0\.1:\d+ cannot be read/);
  const verdicts = (await f.events.query({ types: ['analysis.metric.verdict'] })).map((e) => e.data as Record<string, any>).filter((x) => x.metric === 'queue_depth');
  assert.ok(verdicts.some((v) => v.verdict === 'error'));
  assert.ok(verdicts.every((v) => v.verdict !== 'fail'));
  assert.equal(f.state.view.deployments.get(h.id)!.state, 'running');
  f.deployer.abort('web', 'test');
  assert.equal((await h.done).state, 'aborted');
});
