// What every dependency version source promises, whatever its kind: a clean semver version comes
// back normalised with the place it was read; anything else is DEPENDENCY_UNREADABLE naming the
// dependency and what was wrong, and only `loose: true` coerces. Call it from each source's tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../clock/clock.ts';
import { GreenlightError } from '../../errors/errors.ts';
import { createDependencySource, type DependencySource } from './sources.ts';

export type MakeSource = (reported: string, loose?: boolean) => Promise<{ spec: DependencySource; close?: () => Promise<void> }>;

export function dependencySourceContract(name: string, make: MakeSource): void {
  const read = async (reported: string, loose?: boolean) => {
    const { spec, close } = await make(reported, loose);
    try {
      return await createDependencySource('acme-auth', spec).read({ clock: systemClock, timeoutMs: 5000 });
    } finally {
      await close?.();
    }
  };
  const unreadable = async (reported: string, pattern: RegExp, loose?: boolean) => {
    await assert.rejects(read(reported, loose), (err: unknown) => {
      assert.ok(err instanceof GreenlightError, String(err));
      assert.equal(err.code, 'DEPENDENCY_UNREADABLE');
      assert.match(err.message, /^acme-auth version /);
      assert.match(err.message, pattern);
      assert.ok(err.hint, 'has a hint');
      assert.equal(err.data?.dependency, 'acme-auth');
      return true;
    });
  };

  test(`${name}: reads a semver version and says where it read it`, async () => {
    const v = await read('3.1.0');
    assert.equal(v.dependency, 'acme-auth');
    assert.equal(v.version, '3.1.0');
    assert.equal(v.raw, '3.1.0');
    assert.ok(v.where.length > 0);
  });

  test(`${name}: keeps prerelease and build parts, drops a leading v`, async () => {
    assert.equal((await read('3.0.0-rc.1')).version, '3.0.0-rc.1');
    assert.equal((await read('v2.4.1')).version, '2.4.1');
  });

  test(`${name}: a version that is not semver is unreadable unless loose`, async () => {
    await unreadable('2.4', /"2\.4" is not a valid semver version/);
    await unreadable('banana', /"banana" is not a valid semver version/);
    assert.equal((await read('2.4', true)).version, '2.4.0');
    assert.equal((await read('acme-auth v2.4.1-build7', true)).version, '2.4.1-build7');
    await unreadable('banana', /"banana" has no version number in it, even read loosely/, true);
  });
}
