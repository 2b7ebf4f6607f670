// The 3 June story on a fleet (issue 12): a staging host on acme-auth 2.4.1 blocks web@2.0.0 and is
// named; `change` upgrades acme-auth on staging, then production in waves, one production host
// fails its verify and is undone while the others serve; after the fix the change completes and
// web@2.0.0 rolls out under client load with no failed request. Real sshd hosts in network
// namespaces, real routers, the real Deployer; skipped (with the reason) without root.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { runNamedChange } from '../app/fleet-ops.ts';
import { startLoad } from '../demo/load.ts';
import { fleetPipeline } from './testing.ts';

const changes = {
  'upgrade-acme-auth': {
    apply: '', // set below: the pipeline's acmectl
    verify: { http: 'http://{address}:7100/version', body_contains: '"3.1.0"' },
    undo: '',
  },
};
const made = await fleetPipeline({ production: { steps: [{ weight: 20, hold: '1s' }, { weight: 50, hold: '1s' }], min_requests: 5, interval: '100ms' }, changes: {} });

if (!made.pipeline) {
  test('the 3 June story on a fleet', { skip: made.skip }, () => {});
} else {
  const p = made.pipeline;
  after(() => p.close());
  p.fleetDeps.config.changes = { 'upgrade-acme-auth': { ...changes['upgrade-acme-auth'], apply: p.acmectl('3.1.0'), undo: p.acmectl('2.4.1'), verify: { http: 'http://{address}:7100/version', status: 200, body_contains: '"3.1.0"', timeout: 5000 }, waves: { batch_size: 1, max_unavailable: 1, unavailable_timeout: 120_000 }, hosts: {}, timeout: 60_000 } };

  test('the 3 June story on a fleet: blocked naming the host, host change in waves with one undone, then a clean rollout', { timeout: 300_000 }, async () => {
    await p.register('1.0.0');
    await p.register('2.0.0');
    const first = await (await p.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done;
    assert.equal(first.state, 'promoted', JSON.stringify(first));
    assert.equal(p.targets.get('production')!.list({ version: '1.0.0' }).length, 3);
    assert.deepEqual(p.targets.get('production')!.list().map((i) => i.host).sort(), ['web-1', 'web-2', 'web-3']);

    // web@2.0.0 needs acme-auth >=3: the staging host runs 2.4.1 and is named
    const blocked = await (await p.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
    assert.equal(blocked.state, 'blocked');
    const refusal = (await p.events.query({ types: ['check.completed', 'check.failed', 'deployment.*'] })).map((e) => JSON.stringify(e.data)).join('\n');
    assert.match(refusal, /staging-1 runs acme-auth 2\.4\.1; web@2\.0\.0 needs >=3\.0\.0 <4/);
    assert.equal(p.targets.get('production')!.list({ version: '2.0.0' }).length, 0, 'production untouched');

    // the host change under client load; web-2's upgrade does not take
    const load = startLoad(`${p.routers.get('production')!.url}/`, { rate: 40, maxMs: 120_000, timeoutMs: 3000 });
    try {
      p.breakHost('web-2');
      const failed = await runNamedChange(p.fleetDeps, { name: 'upgrade-acme-auth', actor: 'user:test' });
      assert.equal(failed.state, 'failed', failed.message);
      assert.deepEqual(failed.environments.map((e) => e.state), ['passed', 'failed']);
      assert.deepEqual(failed.environments[1]!.hosts.map((h) => [h.host, h.state]), [['web-1', 'changed'], ['web-2', 'undone'], ['web-3', 'skipped']]);
      assert.match(failed.message, /web-2/);
      assert.ok(failed.incidentId, 'an incident is opened');
      assert.equal(await p.acmeVersion('web-1'), '3.1.0');
      assert.equal(await p.acmeVersion('web-2'), '2.4.1', 'undone');
      assert.equal(await p.acmeVersion('web-3'), '2.4.1', 'not reached');
      assert.equal((await p.events.query({ types: ['inventory.collected'] })).length, 2, 'inventory refreshed after each environment');

      // production is gated on staging with the same change: it passed there, so the retry goes on
      p.unbreakHost('web-2');
      const done = await runNamedChange(p.fleetDeps, { name: 'upgrade-acme-auth', actor: 'user:test', only: ['production'] });
      assert.equal(done.state, 'completed', done.message);
      for (const h of ['staging-1', 'web-1', 'web-2', 'web-3']) assert.equal(await p.acmeVersion(h), '3.1.0');
      const during = load.window(0, Date.now());
      assert.ok(during.requests > 50, `load ran (${during.requests})`);
      assert.equal(during.failed, 0, 'no request failed while hosts were drained, changed and undone');

      const rolled = await (await p.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
      assert.equal(rolled.state, 'promoted', JSON.stringify(rolled));
      const all = load.window(0, Date.now());
      assert.equal(all.failed, 0, 'no failed request over the whole story');
    } finally {
      await load.stop();
    }
  });

  test('a host whose link is cut mid-rollout: the rollout stops and names it, production keeps serving', { timeout: 300_000 }, async () => {
    const load = startLoad(`${p.routers.get('production')!.url}/`, { rate: 40, maxMs: 120_000, timeoutMs: 3000 });
    const off = p.events.subscribe((e) => {
      if (e.type === 'instance.started' && e.data.environment === 'production' && e.data.version === '1.0.0' && e.data.host === 'web-3') void p.fleet.cutLink('web-3');
    });
    try {
      const from = Date.now();
      const d = await (await p.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done;
      assert.notEqual(d.state, 'promoted');
      const record = (await p.events.query({ subject: `deployment/${d.id}` })).map((e) => JSON.stringify(e.data)).join('\n');
      assert.match(record, /web-3/, 'the record names the host');
      const table = p.routers.get('production')!.router.table()!;
      assert.deepEqual(table.versions.filter((v) => v.weight > 0).map((v) => v.version), ['2.0.0'], 'stable stays on 2.0.0');
      const w = load.window(from, Date.now());
      assert.ok(w.requests > 20, `load ran (${w.requests})`);
      assert.equal(w.failed, 0, 'the router kept serving from the hosts still reachable');
    } finally {
      off();
      await load.stop();
      await p.fleet.restoreLink('web-3');
    }
  });
}
