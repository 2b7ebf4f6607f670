// The controller is killed (SIGKILL) in the middle of a canary rollout: the routers keep serving
// with their last table, and the restarted controller puts production back on the stable version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { steadyClient, workspace } from './workspace.ts';

test('controller killed mid-rollout: traffic keeps flowing, and the restart rolls the canary back safely', { timeout: 240_000 }, async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  // long canary steps so the kill lands while the canary has traffic
  writeFileSync(ws.config, readFileSync(ws.config, 'utf8').replace('- { weight: 1, hold: 5s }', '- { weight: 20, hold: 60s }'));
  await ws.setAuthVersion('staging', '3.1.0');
  await ws.setAuthVersion('production', '3.1.0');
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  for (const v of ['1.0.0', '2.0.0']) assert.equal((await ws.cli(['release', 'web', v, '--artifact', `web/v${v[0]}`])).code, 0);
  assert.equal((await ws.cli(['deploy', 'web@1.0.0'])).code, 0);

  const client = steadyClient(`http://127.0.0.1:${ws.ports.production}/`);
  const started = await ws.cli(['deploy', 'web@2.0.0', '--no-follow']);
  assert.equal(started.code, 0, started.stderr);
  const id = started.stdout.trim();
  // wait for the canary step in production
  for (let i = 0; i < 300; i++) {
    const ev = await ws.cli(['events', '--type', 'rollout.step.started', '--json']);
    if (ev.stdout.includes(id)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const pid = JSON.parse((await ws.cli(['status', '--json'])).stdout).controller.pid as number;
  process.kill(pid, 'SIGKILL');
  // the data plane serves on without its controller, canary included
  await new Promise((r) => setTimeout(r, 2000));
  const during = client.seen.requests;
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(client.seen.requests > during, 'requests keep being answered while the controller is down');
  assert.equal((await ws.cli(['status'])).code, 3, 'the CLI says the controller is unreachable (exit 3)');

  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  const status = JSON.parse((await ws.cli(['status', '--json'])).stdout);
  const dep = status.deployments.find((d: { id: string }) => d.id === id);
  assert.equal(dep.state, 'failed');
  assert.match(dep.reason, /interrupted by a controller restart.*production is back on web@1\.0\.0/);
  const prod = status.environments.find((e: { name: string }) => e.name === 'production').services[0];
  assert.equal(prod.stable.version, '1.0.0');
  assert.deepEqual([...new Set(prod.instances.map((i: { version: string }) => i.version))], ['1.0.0'], 'the canary instances were stopped');
  const weights = prod.router.table.versions.filter((v: { weight: number }) => v.weight > 0).map((v: { version: string }) => v.version);
  assert.deepEqual(weights, ['1.0.0']);
  await new Promise((r) => setTimeout(r, 500));
  await client.stop();
  assert.equal(client.seen.failed, 0, client.seen.failures.join(' | '));
});

test('rollback puts the previous version back in production at once, and says so', { timeout: 240_000 }, async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  await ws.setAuthVersion('staging', '3.1.0');
  await ws.setAuthVersion('production', '3.1.0');
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  for (const v of ['1.0.0', '2.0.0']) assert.equal((await ws.cli(['release', 'web', v, '--artifact', `web/v${v[0]}`])).code, 0);
  assert.equal((await ws.cli(['deploy', 'web@1.0.0'])).code, 0);
  const client = steadyClient(`http://127.0.0.1:${ws.ports.production}/`);
  assert.equal((await ws.cli(['deploy', 'web@2.0.0'])).code, 0);
  const r = await ws.cli(['rollback', 'web', '--reason', 'customer reports']);
  await client.stop();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /gate passed: web@1\.0\.0 passed production before/);
  assert.doesNotMatch(r.stdout, /canary at/);
  assert.match(await (await fetch(`http://127.0.0.1:${ws.ports.production}/`)).text(), /web@1\.0\.0/);
  assert.equal(client.seen.failed, 0, client.seen.failures.join(' | '));
  const none = await ws.cli(['rollback', 'web', '--to', '9.9.9']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /web@9\.9\.9 is not a registered release/);
});
