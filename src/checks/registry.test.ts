import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { GreenlightError } from '../errors/errors.ts';
import { dependencySourceSchema } from './compatibility/sources.ts';
import { checkKinds, checkSpecSchema, createCheck, parseCheck, type CheckSpec } from './registry.ts';

test('registry: every kind builds a check with its default phase, and config can move it', () => {
  const specs = { http: { kind: 'http', path: '/healthz' }, command: { kind: 'command', command: 'true' }, compatibility: { kind: 'compatibility' } };
  for (const [kind, raw] of Object.entries(specs)) {
    const check = parseCheck(`${kind}-check`, raw);
    assert.equal(check.kind, kind);
    assert.equal(check.name, `${kind}-check`);
    assert.equal(check.phase, checkKinds.get(kind).defaultPhase);
    assert.notEqual(parseCheck('x', { ...raw, phase: check.phase === 'pre' ? 'post' : 'pre' }).phase, check.phase);
  }
  assert.equal(checkKinds.kinds.http.defaultPhase, 'post');
  assert.equal(checkKinds.kinds.command.defaultPhase, 'pre');
  assert.equal(checkKinds.kinds.compatibility.defaultPhase, 'pre');
});

test('registry: an http pre check targets instances, a post check the router, unless told', async () => {
  const pre = parseCheck('a', { kind: 'http', phase: 'pre', path: '/x' });
  const post = parseCheck('b', { kind: 'http', path: '/x' });
  const noTargets = { environment: 'e', service: 's', release: { version: '1.0.0', digest: 'd', requires: {} }, instanceUrls: [], dependencies: {}, clock: { now: () => 0, setTimeout: () => ({ cancel() {} }), sleep: async () => {} } };
  assert.match((await pre.run(noTargets)).message, /no instances of s@1\.0\.0 to check/);
  assert.match((await post.run(noTargets)).message, /environment e has no router URL/);
  assert.match((await parseCheck('c', { kind: 'http', path: '/x', target: 'instances' }).run(noTargets)).message, /no instances/);
});

test('registry: checkSpecSchema parses durations to milliseconds and rejects unknown kinds and keys', () => {
  const spec = checkSpecSchema.parse({ kind: 'http', path: '/x', timeout: '2s', max_latency: '500ms', interval: '1m' });
  assert.equal(spec.kind, 'http');
  assert.deepEqual([spec.kind === 'http' && spec.timeout, spec.kind === 'http' && spec.max_latency, spec.kind === 'http' && spec.interval], [2000, 500, 60_000]);
  assert.equal(checkSpecSchema.safeParse({ kind: 'smoke', path: '/x' }).success, false);
  assert.equal(checkSpecSchema.safeParse({ kind: 'command', command: 'true', retries: 1 }).success, false);
});

test('registry: config errors name the check and the field; unknown kinds name the known ones', () => {
  assert.throws(
    () => parseCheck('smoke', { kind: 'command', command: 'true', timeout: 'forever' }),
    (err: unknown) => err instanceof GreenlightError && err.code === 'CONFIG_INVALID' && /checks\.smoke\.timeout: expected a duration/.test(err.message),
  );
  assert.throws(
    () => createCheck('x', { kind: 'grpc' } as unknown as CheckSpec),
    (err: unknown) => err instanceof GreenlightError && err.code === 'CONFIG_INVALID' && /unknown kind "grpc"/.test(err.message) && /http, command, compatibility/.test(err.hint ?? ''),
  );
});

test('registry: the schemas export to JSON Schema for editors (input side)', () => {
  const checks = z.toJSONSchema(checkSpecSchema, { io: 'input', unrepresentable: 'any' }) as { oneOf?: unknown[]; anyOf?: unknown[] };
  assert.equal((checks.oneOf ?? checks.anyOf)!.length, 3);
  const sources = z.toJSONSchema(dependencySourceSchema, { io: 'input', unrepresentable: 'any' }) as { oneOf?: unknown[]; anyOf?: unknown[] };
  assert.equal((sources.oneOf ?? sources.anyOf)!.length, 5, "http, command, fixed, host_command, host_http");
});
