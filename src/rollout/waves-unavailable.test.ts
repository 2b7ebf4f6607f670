// max_unavailable counts the hosts already out of service (issue 12): on a real fleet (sshd hosts
// in network namespaces, ssh targets, real routers, the real Deployer), a host drained by
// something else makes the next wave wait, saying why, and the waves go on once it is back; a host
// that stays out fails the waves after unavailable_timeout, every host back on stable.
// Skipped (with the reason) without root.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startLoad } from '../demo/load.ts';
import { fleetPipeline } from '../fleet/testing.ts';
import { nextWave } from '../fleet/availability.ts';

test('nextWave: at most batch_size, within max_unavailable counting the hosts already out; an already unavailable host costs nothing more', () => {
  const down = (...hs: string[]) => new Map(hs.map((h) => [h, 'drained: test']));
  assert.deepEqual(nextWave(['a', 'b', 'c'], down(), 2, 2), ['a', 'b']);
  assert.deepEqual(nextWave(['a', 'b', 'c'], down('x'), 2, 2), ['a'], 'shrinks: x is out already');
  assert.deepEqual(nextWave(['a', 'b', 'c'], down('x'), 2, 1), [], 'no room: wait');
  assert.deepEqual(nextWave(['a', 'b', 'c'], down('b'), 3, 2), ['a', 'b'], 'b is out already and costs nothing; c would make 3');
  assert.deepEqual(nextWave(['a', 'b'], down('a', 'x'), 2, 1), ['a'], 'a host already out can always be worked on');
});

const made = await fleetPipeline({
  acmeVersion: '3.1.0',
  production: { steps: [{ weight: 50, hold: '1s' }], min_requests: 5, interval: '100ms', waves: { canary: { hosts: 1 }, batch_size: 1, max_unavailable: 1, verify_for: '500ms', unavailable_timeout: '4s' } },
});

if (!made.pipeline) {
  test('waves with hosts already out of service', { skip: made.skip }, () => {});
} else {
  const p = made.pipeline;
  after(() => p.close());
  const fleet = p.targets.get('production')!.fleet();
  const stages = async (id: string) => (await p.events.query({ subject: `deployment/${id}` })).filter((e) => e.type === 'deployment.stage' || e.type.startsWith('rollout.wave')).map((e) => `${e.type} ${JSON.stringify(e.data)}`);

  test('a host drained by something else: the next wave waits for room (saying why), and goes on once it is back', { timeout: 300_000 }, async () => {
    await p.register('1.0.0');
    await p.register('2.0.0');
    assert.equal((await (await p.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done).state, 'promoted');
    const load = startLoad(`${p.routers.get('production')!.url}/`, { rate: 40, maxMs: 120_000, timeoutMs: 3000 });
    fleet.drain('web-3', 'test: another operation works on web-3');
    let waitedAt = 0;
    const off = p.events.subscribe((e) => {
      if (!waitedAt && e.type === 'deployment.stage' && /waits for room/.test(String((e.data as { message?: string }).message))) {
        waitedAt = Date.now();
        setTimeout(() => fleet.restore('web-3'), 1500);
      }
    });
    try {
      const d = await (await p.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
      const log = (await stages(d.id)).join('\n');
      assert.equal(d.state, 'promoted', log);
      assert.ok(waitedAt > 0, log);
      assert.match(log, /wave 1\/2 waits for room: max_unavailable is 1 and 1 host\(s\) of production are out of service already: web-3 \(drained: test: another operation works on web-3\); waiting up to 4s/);
      assert.match(log, /rollout.wave.started .*"hosts":\["web-2"\]/);
      assert.match(log, /rollout.wave.started .*"hosts":\["web-3"\]/);
      assert.equal(load.window(0, Date.now()).failed, 0);
    } finally {
      off();
      fleet.restore('web-3');
      await load.stop();
    }
  });

  test('a host that stays out: the waves fail after unavailable_timeout with what was out, every host back on stable', { timeout: 300_000 }, async () => {
    fleet.drain('web-3', 'test: another operation works on web-3');
    try {
      const load = startLoad(`${p.routers.get('production')!.url}/`, { rate: 40, maxMs: 120_000, timeoutMs: 3000 });
      const d = await (await p.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done;
      await load.stop();
      const log = (await stages(d.id)).join('\n');
      assert.notEqual(d.state, 'promoted', log);
      assert.match(log, /rollout.wave.failed .*no room to switch web-2: max_unavailable is 1 and 1 host\(s\) of production are out of service already: web-3 \(drained: [^)]*\), for 4s \(waves.unavailable_timeout\)/);
      const table = p.routers.get('production')!.router.table()!;
      assert.deepEqual(table.versions.filter((v) => v.weight > 0).map((v) => v.version), ['2.0.0'], 'stable stays on 2.0.0');
      assert.equal(load.window(0, Date.now()).failed, 0);
    } finally {
      fleet.restore('web-3');
    }
  });
}
