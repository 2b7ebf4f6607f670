import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ManualClock } from '../clock/clock.ts';
import { GreenlightError } from '../errors/errors.ts';
import { MemoryEventLog } from '../events/memory-log.ts';
import { checkKinds } from '../checks/registry.ts';
import { dependencySourceKinds } from '../checks/compatibility/sources.ts';
import { notifierKinds } from '../alerting/notifiers/registry.ts';
import { storeKinds } from '../store/registry.ts';
import { targetKinds } from '../targets/registry.ts';
import { trafficKinds } from '../traffic/registry.ts';
import { fakeTargetKind } from '../targets/fake/fake-target.ts';
import { kind, Registry } from './registry.ts';

const shapes = new Registry('shape', {
  circle: kind(z.strictObject({ kind: z.literal('circle'), r: z.number().positive() }), (s, d: { scale: number }) => Math.PI * (s.r * d.scale) ** 2),
  square: kind(z.strictObject({ kind: z.literal('square'), side: z.number().default(1) }), (s, d: { scale: number }) => (s.side * d.scale) ** 2),
});

const refusal = (re: RegExp, hint?: RegExp) => (err: unknown) =>
  err instanceof GreenlightError && err.code === 'CONFIG_INVALID' && re.test(err.message) && (!hint || hint.test(err.hint ?? ''));

test('registry: a kind is built from its own parsed config; the family schema is the union of the kinds', () => {
  assert.equal(shapes.create(shapes.parse({ kind: 'square', side: 3 }, 'shape'), { scale: 2 }), 36);
  assert.equal(shapes.create(shapes.parse({ kind: 'square' }, 'shape'), { scale: 1 }), 1, 'defaults filled by the kind schema');
  assert.deepEqual(shapes.schema().parse({ kind: 'circle', r: 1 }), { kind: 'circle', r: 1 });
  assert.equal(shapes.schema().safeParse({ kind: 'triangle' }).success, false);
  assert.deepEqual(shapes.names(), ['circle', 'square']);
});

test('registry: an unknown kind is refused naming the known ones; bad fields are named under the field', () => {
  assert.throws(() => shapes.get('triangle', 'shapes[2]'), refusal(/^shapes\[2\] has unknown kind "triangle"$/, /^use one of: circle, square$/));
  assert.throws(() => shapes.get(undefined), refusal(/^the shape has unknown kind undefined$/));
  assert.throws(() => shapes.get('toString'), refusal(/unknown kind "toString"/), 'only the kinds themselves, not what every object has');
  assert.throws(() => shapes.parse({ kind: 'circle', r: -1 }, 'shapes.0'), refusal(/shapes\.0\.r: Too small/));
  assert.throws(() => shapes.parse({ kind: 'circle', r: 1, colour: 'red' }, 'shapes.0'), refusal(/shapes\.0: Unrecognized key: "colour"/));
});

test('registry: a kind registered under another name than its schema says is refused at once', () => {
  assert.throws(
    () => new Registry('shape', { round: kind(z.strictObject({ kind: z.literal('circle') }), () => 0) }),
    (err: unknown) => err instanceof GreenlightError && /shape kind "round" is registered with a schema of another kind/.test(err.message),
  );
});

test('registry: every kind family of Greenlight is one Registry, each kind once', () => {
  const families = { target: targetKinds, check: checkKinds, 'dependency source': dependencySourceKinds, notifier: notifierKinds, store: storeKinds, 'traffic provider': trafficKinds };
  assert.deepEqual(
    Object.fromEntries(Object.entries(families).map(([name, r]) => [name, r instanceof Registry && r.family === name ? r.names() : 'not a Registry'])),
    {
      target: ['local', 'ssh'],
      check: ['http', 'command', 'compatibility'],
      'dependency source': ['http', 'command', 'fixed', 'host_command', 'host_http'],
      notifier: ['webhook', 'slack', 'pagerduty', 'email'],
      store: ['sqlite', 'postgres'],
      'traffic provider': ['builtin', 'haproxy'],
    },
  );
  for (const [name, r] of Object.entries(families)) {
    assert.throws(() => r.get('nonesuch'), refusal(/unknown kind "nonesuch"/, new RegExp(`^use one of: ${r.names().join(', ')}$`)), name);
  }
});

test('registry: a family takes a new kind as one more entry (the fake target)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-registry-'));
  try {
    const withFake = new Registry('target', { ...targetKinds.kinds, fake: fakeTargetKind });
    const spec = withFake.parse({ kind: 'fake' }, 'target');
    const target = withFake.create(spec, { stateDir: dir, events: new MemoryEventLog(), clock: new ManualClock() });
    assert.equal(target.kind, 'fake');
    await target.close({ stopInstances: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
