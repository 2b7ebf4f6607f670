// Dependency-source drill faults through the real compatibility check: the chosen version or an
// unreachable source while in force, the real source again after the limit, read from the file by
// any reader (the one that wrote it may be gone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../clock/clock.ts';
import type { CheckContext } from '../check.ts';
import { createCompatibilityCheck } from './compatibility-check.ts';
import { DependencyFaults } from './faults.ts';

test('a dependency fault reports its version or unreachable until its limit, in its environment only', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gl-depfaults-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const clock = new ManualClock();
  const file = join(dir, 'dependency-faults.json');
  const writer = new DependencyFaults(file, clock);
  const reader = new DependencyFaults(file, clock);
  const check = createCompatibilityCheck('compatibility', { kind: 'compatibility' });
  const ctx = (environment: string): CheckContext => ({
    environment,
    service: 'web',
    release: { version: '2.0.0', digest: 'sha256:x', requires: { 'acme-auth': '>=3.0.0 <4' } },
    instanceUrls: [],
    dependencies: { 'acme-auth': { kind: 'fixed', version: '3.1.0' } },
    dependencyFaults: reader,
    clock,
  });
  assert.equal((await check.run(ctx('staging'))).verdict, 'pass');

  writer.put({ id: 'd1-dep', drill: 'd1', environment: 'staging', dependency: 'acme-auth', report: '2.4.1', ttlMs: 60_000 });
  const during = await check.run(ctx('staging'));
  assert.equal(during.verdict, 'fail');
  assert.match(during.message, /acme-auth 2\.4\.1 does not satisfy/);
  assert.match(during.message, /DRILL d1/, 'the answer says it is a drill');
  assert.equal((await check.run(ctx('production'))).verdict, 'pass', 'another environment is untouched');

  writer.put({ id: 'd1-dep', drill: 'd1', environment: 'staging', dependency: 'acme-auth', report: 'unreachable', ttlMs: 60_000 });
  const down = await check.run(ctx('staging'));
  assert.equal(down.verdict, 'error');
  assert.match(down.message, /DRILL d1: acme-auth is unreachable/);

  await clock.advance(60_000);
  assert.equal((await check.run(ctx('staging'))).verdict, 'pass', 'expired: the real source answers again, with nobody removing the fault');
  assert.equal(reader.list().length, 0);

  assert.throws(() => writer.put({ id: 'x', drill: 'd', environment: 'staging', dependency: 'acme-auth', report: 'banana', ttlMs: 1000 }), /neither a semver/);
  assert.throws(() => writer.put({ id: 'x', drill: 'd', environment: 'staging', dependency: 'acme-auth', report: '1.0.0', ttlMs: 0 }), /time limit/);
  writer.put({ id: 'a', drill: 'd2', environment: 'staging', dependency: 'acme-auth', report: '1.0.0', ttlMs: 1000 });
  writer.put({ id: 'b', drill: 'd3', environment: 'staging', dependency: 'acme-auth', report: '1.0.0', ttlMs: 1000 });
  assert.equal(writer.remove({ drill: 'd2' }), 1);
  assert.deepEqual(reader.list().map((f) => f.id), ['b']);
});
