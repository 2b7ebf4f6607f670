// Bad input and faults as a user meets them through the CLI: a clear message saying what, where
// and what to do; the documented exit code; nothing half-applied; the stable version keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { workspace } from './workspace.ts';

test('configuration errors: every problem at once with file:line:column and field; exit 2', async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  const bad = join(ws.dir, 'bad.yaml');
  writeFileSync(bad, 'version: 1\nservices:\n  web:\n    comand: [node]\nenvironments:\n  - name: Staging\n    router: { listen: "127.0.0.1:99999" }\n');
  const r = await ws.cli(['validate', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.yaml:4:5 +services\.web\.comand: unknown key "comand"/);
  assert.match(r.stderr, /did you mean "command"\?/);
  assert.match(r.stderr, /bad\.yaml:6:\d+ +environments\[0\]\.name: /);
  assert.match(r.stderr, /bad\.yaml:7:\d+ +environments\[0\]\.router\.listen: port must be between 1 and 65535/);
  const missing = await ws.cli(['--config', join(ws.dir, 'nope.yaml'), 'validate']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /greenlight init/);
});

test('controller down: exit 3 with what to do; wrong token: refused', async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  const never = await ws.cli(['status']);
  assert.equal(never.code, 3);
  assert.match(never.stderr, /no API token at .*token\n.*greenlight up/);
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  assert.equal((await ws.cli(['down'])).code, 0);
  const r = await ws.cli(['status']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /cannot reach the controller at http:\/\/127\.0\.0\.1:\d+/);
  assert.match(r.stderr, /greenlight up/);
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  const res = await fetch(`http://127.0.0.1:${ws.ports.controller}/v1/status`, { headers: { authorization: 'Bearer wrong' } });
  assert.equal(res.status, 401);
  const none = await fetch(`http://127.0.0.1:${ws.ports.controller}/v1/status`);
  assert.equal(none.status, 401);
  assert.match(JSON.stringify(await none.json()), /missing API token/);
});

test('release and deploy mistakes: unknown service, missing artifact, unregistered version; exit 2', async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  const unknown = await ws.cli(['release', 'api', '1.0.0', '--artifact', 'web/v1']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown service "api".*\n.*services in the config: web/);
  const missing = await ws.cli(['release', 'web', '1.0.0', '--artifact', 'web/v9']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /artifact .*web\/v9 does not exist/);
  const notSemver = await ws.cli(['release', 'web', 'latest', '--artifact', 'web/v1']);
  assert.match(notSemver.stderr, /"latest" is not a semantic version/);
  const unregistered = await ws.cli(['deploy', 'web@3.0.0']);
  assert.equal(unregistered.code, 2);
  assert.match(unregistered.stderr, /web@3\.0\.0 is not a registered release[\s\S]*greenlight release web 3\.0\.0 --artifact/);
  const badRef = await ws.cli(['deploy', 'web']);
  assert.equal(badRef.code, 2);
  assert.match(badRef.stderr, /"web" is not <service>@<version>/);
});

test('a router port already in use: up fails naming the address and what to do, and changes nothing', async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  const squatter = createServer().listen(ws.ports.production, '127.0.0.1');
  t.after(() => squatter.close());
  await new Promise((r) => squatter.once('listening', r));
  const r = await ws.cli(['up']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`router of production/web on 127\\.0\\.0\\.1:${ws.ports.production} did not start`));
  assert.match(r.stderr, /another process listens on port \d+/);
  // the staging router, started before production's failed, was stopped again
  const routerRecord = JSON.parse(readFileSync(join(ws.dir, '.greenlight/routers/staging--web.json'), 'utf8')) as { pid: number };
  assert.throws(() => process.kill(routerRecord.pid, 0), /ESRCH/, 'no router left running');
});

test('a dependency version endpoint that is down or answers garbage blocks the release as "could not verify"', async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  // staging reads acme-auth's version from a port where nothing listens
  writeFileSync(ws.config, readFileSync(ws.config, 'utf8').replace(`http://127.0.0.1:${ws.ports.authStaging}/version`, 'http://127.0.0.1:9/version'));
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  assert.equal((await ws.cli(['release', 'web', '1.0.0', '--artifact', 'web/v1'])).code, 0);
  const r = await ws.cli(['deploy', 'web@1.0.0']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /compatibility could not verify: .*acme-auth/);
  assert.match(r.stdout, /127\.0\.0\.1:9\/version/);
  const status = JSON.parse((await ws.cli(['status', '--json'])).stdout);
  assert.equal(status.environments[0].services[0].instances.length, 0, 'nothing left running');
});
