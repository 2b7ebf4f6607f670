// `greenlight down --all` returns once everything is stopped, not once the API closed: the
// controller closes its API first and stops routers and instances after, so a `down` that returned
// at the API let the e2e workspace remove the state directory (where the routers are recorded)
// under a controller still stopping them: two routers kept running with parent pid 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopLeftRouters, workspace } from './workspace.ts';

const alive = (pid: number) => {
  try {
    return process.kill(pid, 0);
  } catch {
    return false;
  }
};

test('down --all returns with the controller, its routers and its instances gone', { timeout: 240_000 }, async (t) => {
  const ws = await workspace();
  t.after(() => ws.close());
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  assert.equal((await ws.cli(['release', 'web', '1.0.0', '--artifact', 'web/v1'])).code, 0);
  assert.equal((await ws.cli(['deploy', 'web@1.0.0'])).code, 0);
  const status = JSON.parse((await ws.cli(['status', '--json'])).stdout) as { controller: { pid: number }; environments: { services: { instances: { pid: number; state: string }[] }[] }[] };
  const instances = status.environments.flatMap((e) => e.services.flatMap((s) => s.instances.filter((i) => i.state !== 'stopped').map((i) => i.pid)));
  const routersDir = join(ws.dir, '.greenlight', 'routers');
  const routers = readdirSync(routersDir).filter((f) => f.endsWith('.json') && !f.endsWith('.table.json')).map((f) => (JSON.parse(readFileSync(join(routersDir, f), 'utf8')) as { pid: number }).pid);
  assert.equal(routers.length, 2);
  assert.ok(instances.length >= 2, JSON.stringify(status.environments));
  const down = await ws.cli(['down', '--all']);
  assert.equal(down.code, 0, down.stderr);
  // at once, before anything (a test's teardown, a script) removes the state directory
  assert.deepEqual([status.controller.pid, ...routers, ...instances].filter(alive), [], 'controller, routers and instances stopped when down returned');
  assert.deepEqual(stopLeftRouters(ws.dir), []);
});
