import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineFixture } from './testing.ts';

const rollout = { steps: [{ weight: 10, hold: '200ms' }], min_requests: 0, interval: '50ms' };

test('a canary failing synthetic requests (GET / by default) is refused before any user request reaches it', async (t) => {
  const f = await pipelineFixture([{ name: 'production', instances: 2, rollout }], { versionEnv: { '2.0.0': { FAKE_STATUS: '500' } } });
  t.after(() => f.close());
  await f.register('1.0.0');
  await f.register('2.0.0');
  assert.equal((await (await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done).state, 'promoted');
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
  assert.equal(d.state, 'blocked');
  assert.match(d.reason!, /refused before any user request: .*synthetic:GET \//);
  const router = f.routers.get('production')!.router;
  assert.equal(router.stats().versions['2.0.0'], undefined, 'the router never routed to it');
  assert.ok(router.table()!.versions.every((v) => v.version !== '2.0.0'));
  const checks = (await f.events.query({ types: ['check.failed'] })).map((e) => e.data as Record<string, unknown>);
  assert.equal(checks.length, 1);
  assert.equal(checks[0]!.name, 'synthetic:GET /');
  assert.equal(f.targets.get('production')!.list().filter((i) => i.version === '2.0.0' && i.state !== 'stopped').length, 0, 'its instances are stopped');
});

test("the environment's http checks are the synthetic requests, aimed at the new instances; synthetic: false turns them off", async (t) => {
  const checks = { smoke: { kind: 'http', path: '/', expect: { body_contains: '"version":"1.0.0"' }, timeout: '2s' } };
  const f = await pipelineFixture([{ name: 'production', instances: 1, checks, rollout }]);
  t.after(() => f.close());
  await f.register('1.0.0');
  await f.register('2.0.0');
  assert.equal((await (await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done).state, 'promoted');
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
  assert.equal(d.state, 'blocked');
  assert.match(d.reason!, /synthetic:smoke/);
  const passed = (await f.events.query({ types: ['check.passed'] })).map((e) => e.data as Record<string, any>);
  assert.ok(passed.some((c) => c.name === 'synthetic:smoke' && c.version === '1.0.0'));
  const failed = (await f.events.query({ types: ['check.failed'] })).map((e) => e.data as Record<string, any>);
  assert.equal(failed[0]!.details.target, 'instances');

  const g = await pipelineFixture([{ name: 'production', instances: 1, rollout, synthetic: false }], { versionEnv: { '2.0.0': { FAKE_STATUS: '500' } } });
  t.after(() => g.close());
  await g.register('1.0.0');
  await g.register('2.0.0');
  assert.equal((await (await g.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done).state, 'promoted');
  assert.equal((await g.events.query({ types: ['check.passed', 'check.failed'] })).length, 0);
});
