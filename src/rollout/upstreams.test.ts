import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../clock/clock.ts';
import { MemoryEventLog } from '../events/memory-log.ts';
import { FakeTarget } from '../targets/fake/fake-target.ts';
import type { InstanceSpec } from '../targets/target.ts';
import { pipelineFixture } from './testing.ts';
import { servingInstances, upstreamsOf } from './upstreams.ts';

const spec = (version: string, role: string): InstanceSpec => ({
  service: 'web',
  version,
  environment: 'production',
  artifactDir: tmpdir(),
  command: 'fake:healthy',
  health: { path: '/healthz', timeoutMs: 2000, intervalMs: 20 },
  stopGraceMs: 100,
  role,
});

test('upstreams of a version: ready instances only; a crashed one leaves until it is ready again; a baseline is never the version\'s own', async (t) => {
  const clock = new ManualClock(Date.parse('2026-12-01T12:00:00Z'));
  const events = new MemoryEventLog(clock);
  const target = new FakeTarget({ restart_backoff_ms: 1000 }, { stateDir: mkdtempSync(join(tmpdir(), 'gl-upstreams-')), events, clock });
  t.after(() => target.close({ stopInstances: true }));
  const env = { name: 'production', target };
  const stable = await target.start(spec('1.0.0', 'stable'), 2);
  const baseline = await target.start(spec('1.0.0', 'baseline'), 1);
  const canary = await target.start(spec('2.0.0', 'candidate'), 1);

  assert.deepEqual(upstreamsOf(env, 'web', '1.0.0').sort(), stable.map((i) => i.url).sort(), 'the baseline is not among the stable version\'s upstreams');
  assert.deepEqual(upstreamsOf(env, 'web', '1.0.0', { role: 'baseline' }), baseline.map((i) => i.url), 'asked for, the baseline alone');
  assert.deepEqual(upstreamsOf(env, 'web', '2.0.0'), canary.map((i) => i.url));
  assert.deepEqual(upstreamsOf(env, 'web', '3.0.0'), []);

  // a crashed instance has no process behind its port: out until its restart answers health
  await target.crash(stable[0]!.id);
  assert.equal(target.list({ version: '1.0.0', role: 'stable' }).find((i) => i.id === stable[0]!.id)?.state, 'crashed');
  assert.deepEqual(upstreamsOf(env, 'web', '1.0.0'), [stable[1]!.url]);
  await target.crash(baseline[0]!.id);
  assert.deepEqual(upstreamsOf(env, 'web', '1.0.0', { role: 'baseline' }), [], 'a crashed baseline is not routed either');
  await target.crash(canary[0]!.id);
  assert.deepEqual(servingInstances(env, 'web', '2.0.0'), [], 'a version whose only instance crashed has no upstream');
  // restarted after the back-off, healthy again: back in
  await clock.advance(1000);
  for (let i = 0; i < 100 && upstreamsOf(env, 'web', '1.0.0').length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(upstreamsOf(env, 'web', '1.0.0').length, 2, 'the restarted instance is routed again once ready');
});

test('a canary with a fresh baseline: the router never lists the baseline among the stable version\'s upstreams', async (t) => {
  const f = await pipelineFixture([{ name: 'production', instances: 2, rollout: { steps: [{ weight: 20, hold: '300ms' }], min_requests: 0, interval: '50ms', baseline: 'fresh' } }]);
  t.after(() => f.close());
  await f.register('1.0.0');
  await f.register('2.0.0');
  assert.equal((await (await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done).state, 'promoted');
  const target = f.targets.get('production')!;
  const stableUrls = target.list({ version: '1.0.0' }).map((i) => i.url).sort();
  const seen: string[][] = [];
  const off = f.events.subscribe((e) => {
    if (e.type !== 'rollout.step.started') return;
    const table = f.routers.get('production')!.router.table()!;
    seen.push([...table.versions.find((v) => v.version === '1.0.0')!.upstreams].sort());
    const base = table.versions.find((v) => v.version === '1.0.0+baseline')!;
    const baselineUrls = target.list({ version: '1.0.0', role: 'baseline' }).map((i) => i.url);
    assert.deepEqual(base.upstreams, baselineUrls);
    assert.ok(baselineUrls.every((u) => !stableUrls.includes(u)));
  });
  t.after(off);
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
  assert.equal(d.state, 'promoted', JSON.stringify(d));
  assert.ok(seen.length >= 1);
  for (const s of seen) assert.deepEqual(s, stableUrls);
});
