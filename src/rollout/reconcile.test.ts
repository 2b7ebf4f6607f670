import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineFixture } from './testing.ts';
import { reconcileEnvironment } from './reconcile.ts';

test('reconcile replaces a lost stable instance and points the router at the live ones', async (t) => {
  const f = await pipelineFixture([{ name: 'production', instances: 2 }]);
  t.after(() => f.close());
  await f.register('1.0.0');
  assert.equal((await (await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done).state, 'promoted');
  const target = f.targets.get('production')!;
  const [lost] = target.list();
  await target.stop([lost!.id]); // gone while nobody was watching
  const env = f.runtime.environments('web')[0]!;
  await reconcileEnvironment({ events: f.events, state: f.state.view, runtime: f.runtime }, env, 'web', { replaceMissing: true });
  const live = target.list({ version: '1.0.0' });
  assert.equal(live.length, 2);
  assert.ok(!live.some((i) => i.id === lost!.id));
  const upstreams = f.routers.get('production')!.router.table()!.versions.find((v) => v.version === '1.0.0')!.upstreams;
  assert.deepEqual([...upstreams].sort(), live.map((i) => i.url).sort());
  assert.equal((await f.events.query({ types: ['environment.reconciled'] })).length, 1);
  // nothing to do the second time: no new event, no table change
  const revision = f.routers.get('production')!.router.table()!.revision;
  await reconcileEnvironment({ events: f.events, state: f.state.view, runtime: f.runtime }, env, 'web', { replaceMissing: true });
  assert.equal(f.routers.get('production')!.router.table()!.revision, revision);
  assert.equal((await f.events.query({ types: ['environment.reconciled'] })).length, 1);
});
