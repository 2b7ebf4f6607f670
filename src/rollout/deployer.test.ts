import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineFixture } from './testing.ts';
import { recoverInterruptedDeployments } from './recovery.ts';

const compat = { compatibility: { kind: 'compatibility' } };
const smoke = (contains?: string) => ({ smoke: { kind: 'http', path: '/', ...(contains ? { expect: { body_contains: contains } } : {}), timeout: '2s' } });

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

test('a release goes through staging, then production; both end on it and the old instances stop', async (t) => {
  const f = await pipelineFixture([
    { name: 'staging', checks: { ...compat, ...smoke() }, dependencies: { 'acme-auth': { kind: 'fixed', version: '3.1.0' } } },
    { name: 'production', checks: smoke(), instances: 2 },
  ]);
  t.after(() => f.close());
  await f.register('1.0.0', { 'acme-auth': '>=2 <4' });
  await f.register('2.0.0', { 'acme-auth': '>=3.0.0 <4' });
  assert.equal((await (await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'user:ann' })).done).state, 'promoted');
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'user:ann' })).done;
  assert.equal(d.state, 'promoted', d.reason);
  assert.deepEqual(d.environments.map((e) => e.state), ['passed', 'passed']);
  assert.equal(f.state.view.stable.get('production/web')?.version, '2.0.0');
  const body = JSON.parse((await get(f.routers.get('production')!.url)).body);
  assert.equal(body.version, '2.0.0');
  assert.deepEqual(f.targets.get('production')!.list().map((i) => i.version), ['2.0.0', '2.0.0']);
});

test('an incompatible dependency blocks the release in staging; production is not touched', async (t) => {
  const f = await pipelineFixture([
    { name: 'staging', checks: compat, dependencies: { 'acme-auth': { kind: 'fixed', version: '2.4.1' } } },
    { name: 'production', checks: smoke() },
  ]);
  t.after(() => f.close());
  await f.register('1.0.0', { 'acme-auth': '>=2 <4' });
  await f.register('2.0.0', { 'acme-auth': '>=3.0.0 <4' });
  await (await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done;
  const prodTable = f.routers.get('production')!.router.table();
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
  assert.equal(d.state, 'blocked');
  assert.match(d.reason!, /acme-auth 2\.4\.1 does not satisfy ">=3\.0\.0 <4"/);
  assert.deepEqual(d.environments.map((e) => e.state), ['blocked', 'skipped']);
  assert.deepEqual(f.routers.get('production')!.router.table(), prodTable);
  assert.deepEqual(f.targets.get('staging')!.list().map((i) => i.version), ['1.0.0'], 'the candidate instances were stopped');
  assert.equal(f.state.view.stable.get('staging/web')?.version, '1.0.0');
});

test('production refuses a release that has not passed staging, and says what to do', async (t) => {
  const f = await pipelineFixture([{ name: 'staging' }, { name: 'production' }]);
  t.after(() => f.close());
  await f.register('2.0.0');
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test', only: ['production'] })).done;
  assert.equal(d.state, 'blocked');
  assert.match(d.reason!, /production refuses web@2\.0\.0: web@2\.0\.0 has not passed staging/);
  assert.match(d.reason!, /--force --reason/);
  assert.equal(f.targets.get('production')!.list().length, 0);
  const refused = await f.events.query({ types: ['deployment.gate.refused'] });
  assert.equal(refused.length, 1);
});

test('a release that passed staging with another digest is refused in production', async (t) => {
  const f = await pipelineFixture([{ name: 'staging' }, { name: 'production' }]);
  t.after(() => f.close());
  await f.register('2.0.0');
  await f.events.append({ type: 'deployment.environment.passed', actor: 'test', subject: 'deployment/old', data: { deploymentId: 'old', service: 'web', version: '2.0.0', environment: 'staging', digest: 'sha256:other' } });
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test', only: ['production'] })).done;
  assert.equal(d.state, 'blocked');
  assert.match(d.reason!, /passed staging with digest other.*but this release has/);
});

test('break-glass: --force needs a reason, and the override is recorded with actor and reason', async (t) => {
  const f = await pipelineFixture([{ name: 'staging' }, { name: 'production' }]);
  t.after(() => f.close());
  await f.register('2.0.0');
  await assert.rejects(f.deployer.start({ service: 'web', version: '2.0.0', actor: 'user:bob', force: true, only: ['production'] }), /--force needs --reason/);
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'user:bob', force: true, reason: 'hotfix for login', only: ['production'] })).done;
  assert.equal(d.state, 'promoted');
  assert.deepEqual(d.overrides.map((o) => [o.environment, o.actor, o.reason]), [['production', 'user:bob', 'hotfix for login']]);
});

test('an instance that never becomes ready blocks the deployment; the stable version keeps serving', async (t) => {
  const f = await pipelineFixture([{ name: 'production' }]);
  t.after(() => f.close());
  await f.register('1.0.0');
  await f.register('2.0.0');
  await (await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done;
  f.service.command = 'fake:never-ready';
  f.service.health.timeoutMs = 300;
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
  assert.equal(d.state, 'blocked');
  assert.match(d.reason!, /did not start/);
  assert.equal(JSON.parse((await get(f.routers.get('production')!.url)).body).version, '1.0.0');
  assert.deepEqual(f.targets.get('production')!.list().map((i) => i.version), ['1.0.0']);
});

test('a failing post-switch check switches traffic back to the previous version', async (t) => {
  // synthetic checks off: they would refuse 2.0.0 before the switch (synthetic.test.ts)
  const f = await pipelineFixture([{ name: 'production', checks: smoke('"version":"1.0.0"'), synthetic: false }]);
  t.after(() => f.close());
  await f.register('1.0.0');
  await f.register('2.0.0');
  assert.equal((await (await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done).state, 'promoted');
  const d = await (await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
  assert.equal(d.state, 'rolled_back');
  assert.match(d.reason!, /check smoke failed/);
  assert.equal(JSON.parse((await get(f.routers.get('production')!.url)).body).version, '1.0.0');
  assert.equal(f.state.view.stable.get('production/web')?.version, '1.0.0');
  const switches = await f.events.query({ types: ['router.switched'] });
  assert.deepEqual(switches.map((e) => e.data.to), ['1.0.0', '2.0.0', '1.0.0']);
});

test('a second deployment of the same service while one runs is refused with what to do', async (t) => {
  const f = await pipelineFixture([{ name: 'production', verifyForMs: 300 }]);
  t.after(() => f.close());
  await f.register('1.0.0');
  await f.register('2.0.0');
  const first = await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' });
  await assert.rejects(f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' }), (err: Error & { code?: string; hint?: string }) => {
    assert.equal(err.code, 'CONFLICT');
    assert.match(err.message, new RegExp(`deployment ${first.id} of web@1.0.0 is still running`));
    assert.match(err.hint!, /greenlight abort web/);
    return true;
  });
  await first.done;
});

test('unknown service or unregistered version gets a clear error', async (t) => {
  const f = await pipelineFixture([{ name: 'production' }]);
  t.after(() => f.close());
  await f.register('1.0.0');
  await assert.rejects(f.deployer.start({ service: 'api', version: '1.0.0', actor: 'test' }), /unknown service "api"/);
  await assert.rejects(f.deployer.start({ service: 'web', version: '9.9.9', actor: 'test' }), (err: Error & { hint?: string }) => {
    assert.match(err.message, /web@9\.9\.9 is not a registered release/);
    assert.match(err.hint!, /registered: 1\.0\.0/);
    return true;
  });
});

test('after a crash mid-deployment, recovery puts traffic back on stable and ends the deployment failed', async (t) => {
  const f = await pipelineFixture([{ name: 'production' }]);
  t.after(() => f.close());
  await f.register('1.0.0');
  await f.register('2.0.0');
  await (await f.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done;
  f.runtime.environments('web')[0]!.verifyForMs = 60_000; // the candidate stays unverified while we "crash"
  const h = await f.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' });
  // wait until traffic is on the candidate, then "crash": a fresh recovery sees a running deployment
  for (let i = 0; i < 200 && JSON.parse((await get(f.routers.get('production')!.url)).body).version !== '2.0.0'; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(JSON.parse((await get(f.routers.get('production')!.url)).body).version, '2.0.0');
  const recovered = await recoverInterruptedDeployments({ events: f.events, state: f.state.view, runtime: f.runtime });
  assert.deepEqual(recovered, [h.id]);
  assert.equal(JSON.parse((await get(f.routers.get('production')!.url)).body).version, '1.0.0');
  assert.equal(f.state.view.deployments.get(h.id)!.state, 'failed');
  assert.match(f.state.view.deployments.get(h.id)!.reason!, /interrupted by a controller restart.*back on web@1\.0\.0/);
  f.deployer.abort('web', 'test');
  await h.done;
});
