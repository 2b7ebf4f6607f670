// `greenlight change` and max_unavailable counting the hosts already out of service (issue 12), on
// a real fleet (sshd hosts in network namespaces, ssh targets, real routers): a host drained by
// something else makes the next wave wait, saying why, and the change goes on once it is back; a
// host that stays out (its link cut) stops the change in that environment after
// unavailable_timeout, the hosts not reached untouched. Skipped (with the reason) without root.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { runNamedChange } from '../app/fleet-ops.ts';
import { fleetPipeline } from '../fleet/testing.ts';
import { changesSchema } from './schema.ts';

const made = await fleetPipeline({});

if (!made.pipeline) {
  test('host changes with hosts already out of service', { skip: made.skip }, () => {});
} else {
  const p = made.pipeline;
  after(() => p.close());
  const waves = { batch_size: 1, max_unavailable: 1, unavailable_timeout: '3s' };
  p.fleetDeps.config.changes = changesSchema.parse({
    upgrade: { apply: p.acmectl('3.1.0'), verify: { http: 'http://{address}:7100/version', body_contains: '"3.1.0"' }, undo: p.acmectl('2.4.1'), waves },
    downgrade: { apply: p.acmectl('2.4.1'), verify: { http: 'http://{address}:7100/version', body_contains: '"2.4.1"' }, undo: p.acmectl('3.1.0'), waves },
  });
  const fleet = p.targets.get('production')!.fleet();

  test('a production host drained by something else: the wave waits for room, saying why, and the change completes once it is back', { timeout: 300_000 }, async () => {
    fleet.drain('web-3', 'test: another operation works on web-3');
    const off = p.events.subscribe((e) => {
      if (e.type === 'change.wave.waiting') setTimeout(() => fleet.restore('web-3'), 1500);
    });
    try {
      const r = await runNamedChange(p.fleetDeps, { name: 'upgrade', actor: 'test' });
      assert.equal(r.state, 'completed', r.message);
      const waiting = (await p.events.query({ types: ['change.wave.waiting'] })).map((e) => (e.data as { message: string }).message);
      assert.equal(waiting.length, 1, waiting.join('\n'));
      assert.match(waiting[0]!, /^wave 1 waits for room: max_unavailable is 1 and 1 host\(s\) of production are out of service already: web-3 \(drained: test: another operation works on web-3\); waiting up to 3s$/);
      for (const h of ['staging-1', 'web-1', 'web-2', 'web-3']) assert.equal(await p.acmeVersion(h), '3.1.0', h);
    } finally {
      off();
      fleet.restore('web-3');
    }
  });

  test('a production host that stays unreachable: the change stops there after unavailable_timeout, naming it, and changes nothing', { timeout: 300_000 }, async () => {
    await p.fleet.cutLink('web-3');
    try {
      for (let i = 0; i < 200 && fleet.rotation('web-3').in; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(fleet.rotation('web-3').in, false, 'web-3 known unreachable');
      const r = await runNamedChange(p.fleetDeps, { name: 'downgrade', actor: 'test', only: ['production'], force: true, reason: 'test: production only' });
      assert.equal(r.state, 'failed');
      assert.match(r.message, /^change downgrade stopped in production: no room to change web-1: max_unavailable is 1 and 1 host\(s\) of production are out of service already: web-3 \(unreachable: .*\), for 3s \(waves.unavailable_timeout\); web-1, web-2, web-3 not changed$/);
      const prod = r.environments.find((e) => e.name === 'production')!;
      assert.deepEqual(prod.hosts.map((h) => `${h.host} ${h.state}`), ['web-1 skipped', 'web-2 skipped', 'web-3 skipped']);
      assert.equal(r.incidentId, undefined, 'nothing was changed, so nothing to undo or investigate: no incident');
      assert.equal((await p.events.query({ types: ['change.stopped'] })).length, 1);
      for (const h of ['web-1', 'web-2']) assert.equal(await p.acmeVersion(h), '3.1.0', `${h} untouched`);
    } finally {
      await p.fleet.restoreLink('web-3');
    }
  });
}
