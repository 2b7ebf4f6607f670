// A release rolled out by the real Deployer across a fleet where one production host runs systemd
// and the others do not: `supervisor: auto` gives that host's instances systemd units and the
// others Greenlight's supervisor; the rollout (canary first, then waves) is the same on both, with
// 0 failed requests, and the old release's units are gone after the switch. Skipped (with the
// reason) where a systemd test host cannot be made.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startLoad } from '../demo/load.ts';
import { queryType } from '../events/log.ts';
import { fleetPipeline } from './testing.ts';

const made = await fleetPipeline({
  acmeVersion: '3.1.0',
  systemd: ['web-2'],
  production: {
    steps: [{ weight: 50, hold: '1s' }],
    min_requests: 5,
    interval: '100ms',
    waves: { canary: { hosts: 1 }, batch_size: 1, max_unavailable: 1, verify_for: '1s' },
  },
});

if (!made.pipeline) {
  test('a release across a fleet with a systemd host', { skip: made.skip }, () => {});
} else {
  const p = made.pipeline;
  after(() => p.close());
  const production = () => p.targets.get('production')!;
  const units = () => p.fleet.exec('web-2', ['sh', '-c', 'ls /etc/systemd/system | grep "^greenlight-web-" || true']).split('\n').filter(Boolean);

  test('a release rolls out across a systemd host and plain hosts alike (auto), in waves under load with 0 failed requests', { timeout: 300_000 }, async () => {
    await p.register('1.0.0');
    await p.register('2.0.0');
    const first = await (await p.deployer.start({ service: 'web', version: '1.0.0', actor: 'test' })).done;
    assert.equal(first.state, 'promoted', JSON.stringify(first));
    const chosen = Object.fromEntries((await queryType(p.events, 'host.supervisor')).map((e) => [e.data.host, e.data.supervisor]));
    assert.deepEqual(chosen, { 'staging-1': 'greenlight', 'web-1': 'greenlight', 'web-2': 'systemd', 'web-3': 'greenlight' });
    const v1 = production().list({ version: '1.0.0' });
    assert.deepEqual(v1.map((i) => i.host).sort(), ['web-1', 'web-2', 'web-3']);
    const onWeb2 = v1.find((i) => i.host === 'web-2')!;
    assert.deepEqual(units(), [`greenlight-${onWeb2.id}.service`]);
    assert.equal(p.fleet.exec('web-2', ['systemctl', 'is-active', `greenlight-${onWeb2.id}.service`]).trim(), 'active');

    const load = startLoad(`${p.routers.get('production')!.url}/`, { rate: 40, maxMs: 120_000, timeoutMs: 3000 });
    const from = Date.now();
    try {
      const d = await (await p.deployer.start({ service: 'web', version: '2.0.0', actor: 'test' })).done;
      assert.equal(d.state, 'promoted', JSON.stringify(d));
    } finally {
      await load.stop();
    }
    const w = load.window(from, Date.now());
    assert.ok(w.requests > 0, 'the load ran');
    assert.equal(w.failed, 0, `0 failed requests of ${w.requests}`);
    assert.ok(load.samples.some((s) => s.version === '2.0.0'), 'the new version answered');
    const v2 = production().list({ version: '2.0.0' });
    assert.deepEqual(v2.map((i) => i.host).sort(), ['web-1', 'web-2', 'web-3']);
    assert.equal(production().list({ version: '1.0.0' }).length, 0);
    const now = v2.find((i) => i.host === 'web-2')!;
    assert.deepEqual(units(), [`greenlight-${now.id}.service`], 'the old release\'s unit is gone, the new one runs under its own');
  });
}
