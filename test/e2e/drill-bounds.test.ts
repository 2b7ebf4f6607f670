// A drill's faults are bounded by the router and the dependency source themselves: the controller
// that started the drill is killed (SIGKILL) and the faults still end at the drill's limit, with
// nobody left to remove them. The restarted controller records the drill as interrupted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DependencyFaults } from '../../src/checks/compatibility/faults.ts';
import { systemClock } from '../../src/clock/clock.ts';
import { RouterClient } from '../../src/router/client.ts';
import { routerTokenPath } from '../../src/app/token.ts';
import { workspace } from './workspace.ts';

test('a drill whose controller is killed has its faults removed by their time limit', { timeout: 240_000 }, async (t) => {
  const ws = await workspace({ authVersion: '3.1.0' });
  t.after(() => ws.close());
  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  assert.equal((await ws.cli(['release', 'web', '1.0.0', '--artifact', 'web/v1'])).code, 0);
  assert.equal((await ws.cli(['deploy', 'web@1.0.0', '--env', 'staging'])).code, 0);
  mkdirSync(join(ws.dir, 'drills'));
  writeFileSync(
    join(ws.dir, 'drills/short.yaml'),
    `version: 1
name: short
title: Short error burst
duration: 8s
cause: { summary: errors, match: ["500"] }
faults:
  - { kind: error, share: 1, status: 500 }
  - { kind: dependency, dependency: acme-auth, report: 2.4.1 }
`,
  );
  const run = await ws.cli(['drill', 'run', 'drills/short.yaml', '--env', 'staging', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const drillId = (JSON.parse(run.stdout) as { drill: { id: string } }).drill.id;
  const staging = `http://127.0.0.1:${ws.ports.staging}/`;
  const during = await fetch(staging);
  assert.equal(during.status, 500);
  assert.equal(during.headers.get('x-greenlight-drill'), drillId);

  const pid = JSON.parse((await ws.cli(['status', '--json'])).stdout).controller.pid as number;
  process.kill(pid, 'SIGKILL');
  const token = readFileSync(routerTokenPath(join(ws.dir, '.greenlight')), 'utf8').trim();
  const rec = JSON.parse(readFileSync(join(ws.dir, '.greenlight/routers/staging--web.json'), 'utf8')) as { admin: string };
  const router = new RouterClient({ adminUrl: `http://${rec.admin}`, token });
  const deps = new DependencyFaults(join(ws.dir, '.greenlight/drills/dependency-faults.json'), systemClock);
  assert.equal((await router.faults()).faults.length, 1, 'the fault outlived the controller, within its limit');
  assert.equal(deps.list().length, 1);

  // nobody removes them: the router's clock and the source's reading of the expiry do
  for (const until = Date.now() + 60_000; ; ) {
    const left = (await router.faults()).faults.length + deps.list().length;
    if (left === 0 && (await fetch(staging)).status === 200) break;
    assert.ok(Date.now() < until, 'the faults outlived their limit');
    await new Promise((r) => setTimeout(r, 200));
  }

  assert.equal((await ws.cli(['up', '--detach'])).code, 0);
  const history = JSON.parse((await ws.cli(['drill', 'history', '--json'])).stdout) as { drills: { drillId: string; outcome: string }[] };
  assert.deepEqual(history.drills.map((d) => [d.drillId, d.outcome]), [[drillId, 'interrupted']]);
});
