import { test } from 'node:test';
import { queryType } from '../../events/log.ts';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, systemClock } from '../../clock/clock.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { httpStatus, targetContract } from '../target.contract.ts';
import type { InstanceSpec } from '../target.ts';
import { FakeTarget } from './fake-target.ts';

function spec(behaviour: string, over: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    service: 'web',
    version: '1.0.0',
    environment: 'staging',
    artifactDir: '/nonexistent',
    command: [`fake:${behaviour}`],
    health: { path: '/healthz', timeoutMs: behaviour === 'never-ready' ? 300 : 5000, intervalMs: 20 },
    stopGraceMs: 500,
    ...over,
  };
}

targetContract('FakeTarget', () => ({
  open: (stateDir, events) => new FakeTarget({ restart_backoff_ms: 100 }, { stateDir, events, clock: systemClock }),
  spec,
  crash: (target, instance) => (target as FakeTarget).crash(instance.id),
}));

test('FakeTarget: crash(id) records the crash and restarts on the same port after the back-off', async () => {
  const clock = new ManualClock();
  const events = new MemoryEventLog(clock);
  const t = new FakeTarget({ restart_backoff_ms: 1000 }, { stateDir: mkdtempSync(join(tmpdir(), 'gl-fake-')), events, clock });
  try {
    const [a] = await t.start(spec('healthy'), 1);
    await t.crash(a!.id);
    assert.equal(t.list()[0]!.state, 'crashed');
    assert.equal(await httpStatus(a!.url + '/healthz'), 0);
    await clock.advance(999);
    assert.equal((await queryType(events, 'instance.restarted')).length, 0);
    await clock.advance(1);
    const [now] = t.list();
    assert.equal(now!.state, 'ready');
    assert.equal(now!.port, a!.port);
    assert.equal(now!.restarts, 1);
    assert.equal(await httpStatus(a!.url + '/healthz'), 200);
    await t.crash(a!.id);
    const crashes = await queryType(events, 'instance.crashed');
    assert.deepEqual(crashes.map((e) => e.data.restartInMs), [1000, 2000]);
  } finally {
    await t.close({ stopInstances: true });
  }
});

test('FakeTarget: an instance that died between controllers is lost on adopt', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'gl-fake-'));
  const events = new MemoryEventLog();
  const t = new FakeTarget({}, { stateDir, events, clock: systemClock });
  const [a, b] = await t.start(spec('healthy'), 2);
  await t.close();
  const next = new FakeTarget({}, { stateDir, events, clock: systemClock });
  try {
    await next.kill(a!.id);
    const adopted = await next.adopt();
    assert.deepEqual(adopted.map((i) => i.id), [b!.id]);
    const lost = await queryType(events, 'instance.lost');
    assert.deepEqual(lost.map((e) => e.subject), [`instance/${a!.id}`]);
  } finally {
    await next.close({ stopInstances: true });
  }
});
