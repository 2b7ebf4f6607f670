// The core promise on real processes: with v1 live in production and a client sending requests
// the whole time, v2 is blocked in staging while acme-auth is too old (production untouched, no
// failed request); once acme-auth is upgraded, the same deploy reaches production, still with no
// failed request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { steadyClient, workspace } from './workspace.ts';

test('deploy is blocked in staging by an incompatible dependency, then reaches production after the upgrade, with 0 failed requests', { timeout: 240_000 }, async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());

  const up = await ws.cli(['up', '--detach']);
  assert.equal(up.code, 0, up.stderr);
  for (const v of ['1.0.0', '2.0.0']) {
    const r = await ws.cli(['release', 'web', v, '--artifact', `web/v${v[0]}`]);
    assert.equal(r.code, 0, r.stderr);
  }
  const first = await ws.cli(['deploy', 'web@1.0.0']);
  assert.equal(first.code, 0, first.stdout + first.stderr);

  const client = steadyClient(`http://127.0.0.1:${ws.ports.production}/`);
  await new Promise((r) => setTimeout(r, 500));

  const blocked = await ws.cli(['deploy', 'web@2.0.0']);
  assert.equal(blocked.code, 1, 'a blocked deployment exits 1');
  assert.match(blocked.stdout, /acme-auth 2\.4\.1 does not satisfy ">=3\.0\.0 <4" required by web@2\.0\.0 \(read from http:\/\/127\.0\.0\.1:\d+\/version, field "version"\)/);
  assert.match(blocked.stdout, /blocked: staging/);
  const status1 = JSON.parse((await ws.cli(['status', '--json'])).stdout);
  const prod1 = status1.environments.find((e: { name: string }) => e.name === 'production').services[0];
  assert.equal(prod1.stable.version, '1.0.0');
  assert.deepEqual([...new Set(prod1.instances.map((i: { version: string }) => i.version))], ['1.0.0'], 'production untouched');

  await ws.setAuthVersion('staging', '3.1.0');
  await ws.setAuthVersion('production', '3.1.0');
  const promoted = await ws.cli(['deploy', 'web@2.0.0']);
  assert.equal(promoted.code, 0, promoted.stdout + promoted.stderr);
  assert.match(promoted.stdout, /promoted through every environment/);
  await new Promise((r) => setTimeout(r, 500));
  await client.stop();

  assert.equal(client.seen.failed, 0, `failed requests: ${client.seen.failures.join(' | ')}`);
  assert.ok(client.seen.requests > 100, `only ${client.seen.requests} requests were sent`);
  assert.ok((client.seen.versions.get('2.0.0') ?? 0) > 0, 'the client sees v2 at the end');
  const last = await fetch(`http://127.0.0.1:${ws.ports.production}/`);
  assert.match(await last.text(), /hello from web@2\.0\.0/);

  const events = await ws.cli(['events', '--type', 'deployment.gate.*', 'check.failed', '--json']);
  assert.match(events.stdout, /check\.failed/);
});
