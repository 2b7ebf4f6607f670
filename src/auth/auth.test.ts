// Users, tokens and the failed-authentication limit, on the in-memory log and a ManualClock; the
// 401/429 answers through the real HTTP layer on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../clock/clock.ts';
import { MemoryEventLog } from '../events/memory-log.ts';
import { Routes } from '../api/http.ts';
import { Directory } from './directory.ts';
import { FailureLimiter } from './rate-limit.ts';
import { Policy } from './permissions.ts';
import { accessConfigSchema } from './schema.ts';

test('tokens: shown once, stored as a digest, expire on the clock, revocable; every change is an event', async () => {
  const clock = new ManualClock();
  const events = new MemoryEventLog(clock);
  const dir = await new Directory({ events, clock, bootstrapToken: () => 'boot-token-0123456789' }).start();
  assert.equal(dir.authenticate('boot-token-0123456789')?.bootstrap, true);
  await dir.createUser({ name: 'alice', kind: 'user', roles: ['deployer'] }, 'service:bootstrap-admin');
  const { token, record } = await dir.issueToken('alice', { expiresInMs: 60_000 }, 'service:bootstrap-admin');
  assert.deepEqual(dir.authenticate(token), { name: 'alice', kind: 'user', roles: ['deployer'], tokenId: record.id });
  const logged = JSON.stringify(await events.query());
  assert.ok(!logged.includes(token.split('_')[2]!), 'the secret is not in the log');
  assert.ok(!JSON.stringify(dir.view(dir.users.get('alice')!)).includes(record.sha256), 'nor in what the API shows');
  // a token with a changed secret is refused
  assert.equal(dir.authenticate(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')), undefined);
  await clock.advance(60_000);
  assert.equal(dir.authenticate(token), undefined);
  assert.match(dir.refusal(token), /expired at/);
  const second = await dir.issueToken('alice', {}, 'service:bootstrap-admin');
  assert.equal(dir.authenticate(second.token)?.name, 'alice');
  await dir.revokeToken(second.record.id, 'user:alice');
  assert.equal(dir.authenticate(second.token), undefined);
  assert.match(dir.refusal(second.token), /revoked by user:alice/);
  await dir.setRoles('alice', ['viewer'], 'service:bootstrap-admin');
  assert.deepEqual((await events.query()).map((e) => e.type), ['user.created', 'token.issued', 'token.issued', 'token.revoked', 'user.roles.changed']);
  // a second directory rebuilt from the log agrees
  const again = await new Directory({ events, clock }).start();
  assert.deepEqual(again.users.get('alice')?.roles, ['viewer']);
  await assert.rejects(dir.createUser({ name: 'alice', kind: 'user', roles: ['viewer'] }, 'x'), /already exists/);
  await assert.rejects(dir.createUser({ name: 'Bad Name', kind: 'user', roles: ['viewer'] }, 'x'), /not a valid user name/);
});

test('failed authentications: the 10th within a minute blocks the address for a minute (429), then it may try again', async (t) => {
  const clock = new ManualClock();
  const limiter = new FailureLimiter(clock);
  const routes = new Routes().add('GET', '/v1/x', async () => ({ ok: true }));
  const server = createServer(routes.handler({ authenticate: (tok) => (tok === 'right-token-123456' ? { name: 'a', kind: 'user', roles: ['viewer'] } : undefined), limiter }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/x`;
  const get = (tok: string) => fetch(url, { headers: { authorization: `Bearer ${tok}` } });
  assert.equal((await get('right-token-123456')).status, 200);
  for (let i = 0; i < 9; i++) assert.equal((await get(`wrong-${i}`)).status, 401);
  assert.equal((await get('wrong-9')).status, 401, 'the 10th failure is still answered 401, and blocks');
  const blocked = await get('right-token-123456');
  assert.equal(blocked.status, 429, 'even the right token waits');
  assert.match(((await blocked.json()) as { error: { message: string } }).error.message, /too many failed authentications from 127\.0\.0\.1: refused for 60 s/);
  await clock.advance(60_000);
  assert.equal((await get('right-token-123456')).status, 200);
});

test('access config: unknown roles and permissions are located errors; per-environment overrides apply', () => {
  const bad = accessConfigSchema.safeParse({ roles: { ops: ['deploy', 'fly'] } });
  assert.deepEqual(bad.error!.issues.map((i) => i.path.join('.')), ['roles.ops.1']);
  const unknownRole = accessConfigSchema.safeParse({ environments: { production: { deploy: ['nobody'] } } });
  assert.deepEqual(unknownRole.error!.issues.map((i) => [i.path.join('.'), i.message]), [['environments.production.deploy.0', 'unknown role "nobody"']]);
  const policy = new Policy(accessConfigSchema.parse({ roles: { ops: ['read', 'deploy'] }, environments: { production: { deploy: ['admin'] } } }));
  const ops = { name: 'o', kind: 'user' as const, roles: ['ops'] };
  assert.equal(policy.allows(ops, { permission: 'deploy', environment: 'staging' }), true);
  assert.equal(policy.allows(ops, { permission: 'deploy', environment: 'production' }), false);
  assert.throws(() => policy.require(ops, [{ permission: 'deploy', environment: 'production' }]), /user:o \(roles: ops\) lacks the permission "deploy" in production/);
});
