// People and tokens on the real CLI and controller: the bootstrap admin creates alice, alice logs
// in (token kept 0600), acts under her own name whatever header she sends, and her revoked token
// stops working with a message saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { workspace } from './workspace.ts';

test('users: bootstrap admin creates alice; login; the actor is who authenticated; revocation', { timeout: 180_000 }, async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  // the routers' admin API has its own credential: the controller's API token does not open it
  const state = join(ws.dir, '.greenlight');
  const routerToken = readFileSync(join(state, 'router-token'), 'utf8').trim();
  const apiToken = readFileSync(join(state, 'token'), 'utf8').trim();
  assert.notEqual(routerToken, apiToken);
  assert.equal(statSync(join(state, 'router-token')).mode & 0o777, 0o600);
  const rec = JSON.parse(readFileSync(join(state, 'routers', 'production--web.json'), 'utf8')) as { admin: string; credential: string };
  assert.equal(rec.credential, 'router-token');
  assert.equal((await fetch(`http://${rec.admin}/stats`, { headers: { authorization: `Bearer ${apiToken}` } })).status, 401);
  assert.equal((await fetch(`http://${rec.admin}/stats`, { headers: { authorization: `Bearer ${routerToken}` } })).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${ws.ports.controller}/v1/status`, { headers: { authorization: `Bearer ${routerToken}` } })).status, 401, 'and the router credential does not open the API');

  const me0 = await ws.cli(['whoami']);
  assert.match(me0.stdout, /service:bootstrap-admin \(roles: admin\).*bootstrap admin token/);

  const added = await ws.cli(['user', 'add', 'alice', '--role', 'deployer', '--expires', '30d']);
  assert.equal(added.code, 0, added.stderr);
  const token = added.stdout.trim().split('\n').at(-1)!;
  assert.match(token, /^glt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);

  const creds = join(ws.dir, 'creds', 'credentials.json');
  const asAlice = { GREENLIGHT_CREDENTIALS: creds };
  const login = await ws.cli(['login'], { env: asAlice, input: token + '\n' });
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /logged in to http:\/\/127\.0\.0\.1:\d+ as user:alice \(roles: deployer\)/);
  assert.equal(statSync(creds).mode & 0o777, 0o600);
  assert.match((await ws.cli(['whoami'], { env: asAlice })).stdout, /^user:alice \(roles: deployer\)/);

  // a wrong token is refused at login, nothing stored over the good one
  const bad = await ws.cli(['login'], { env: asAlice, input: 'glt_0123456789abcdef_' + 'x'.repeat(43) });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /wrong API token/);

  assert.equal((await ws.cli(['release', 'web', '1.0.0', '--artifact', 'web/v1'], { env: { ...asAlice, GREENLIGHT_ACTOR: 'mallory' } })).code, 0);
  const ev = JSON.parse((await ws.cli(['events', '--type', 'release.registered', '--json'])).stdout.trim().split('\n').at(-1)!);
  assert.equal(ev.actor, 'user:alice');

  // a deployer cannot manage users
  const denied = await ws.cli(['user', 'add', 'eve', '--role', 'admin'], { env: asAlice });
  assert.equal(denied.code, 2);
  assert.match(denied.stderr, /user:alice \(roles: deployer\) lacks the permission "users\.manage"/);

  const list = JSON.parse((await ws.cli(['user', 'list', '--json'])).stdout);
  const tokenId = list.users.find((u: { name: string }) => u.name === 'alice').tokens[0].id;
  assert.doesNotMatch(JSON.stringify(list), /sha256|glt_/, 'no secret or digest is listed');
  assert.equal((await ws.cli(['token', 'revoke', tokenId])).code, 0);
  const after = await ws.cli(['whoami'], { env: asAlice });
  assert.equal(after.code, 2);
  assert.match(after.stderr, new RegExp(`the token ${tokenId} was revoked by service:bootstrap-admin`));
});
