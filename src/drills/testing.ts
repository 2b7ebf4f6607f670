// Real parts for drill tests: two in-process routers on loopback (staging, production) serving
// web@2.0.0 from a real upstream, the dependency faults file in a temp dir, an in-memory log and
// a drill runner over them, on a manual clock.
import type { TestContext } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../clock/clock.ts';
import { DependencyFaults } from '../checks/compatibility/faults.ts';
import { MemoryEventLog } from '../events/memory-log.ts';
import { createRouter } from '../router/router.ts';
import { RouterClient } from '../router/client.ts';
import { startUpstream } from '../router/testing.ts';
import { DrillRunner } from './runner.ts';
import { drillsConfigSchema } from './schema.ts';

const TOKEN = 'drill-runner-token-0123456789';

export async function drillFixture(t: TestContext, drills: unknown = {}) {
  const clock = new ManualClock(Date.UTC(2026, 5, 3, 10, 0));
  const dir = await mkdtemp(join(tmpdir(), 'gl-drill-runner-'));
  const events = new MemoryEventLog(clock);
  const up = await startUpstream('v2');
  const routers = new Map<string, { client: RouterClient; base: string; router: ReturnType<typeof createRouter> }>();
  for (const env of ['staging', 'production']) {
    const router = createRouter({ name: `${env}/web`, adminToken: TOKEN, clock });
    const p = await router.listen('127.0.0.1:0');
    const a = await router.listenAdmin('127.0.0.1:0');
    await router.setTable({ revision: 1, versions: [{ version: '2.0.0', weight: 1, upstreams: [up.url] }] });
    routers.set(env, { router, base: `http://127.0.0.1:${p.port}`, client: new RouterClient({ adminUrl: `http://127.0.0.1:${a.port}`, token: TOKEN }) });
  }
  const dependencyFaults = new DependencyFaults(join(dir, 'dependency-faults.json'), clock);
  const runner = new DrillRunner({
    events,
    clock,
    drills: drillsConfigSchema.parse(drills),
    environments: ['staging', 'production'],
    services: ['web'],
    routerFaults: (env) => routers.get(env)?.client,
    dependencyFaults,
    stableVersion: () => '2.0.0',
    deploy: async () => {
      throw new Error('no deployments in this test');
    },
    realOpenIncidents: async () => [],
  });
  await runner.start();
  t.after(async () => {
    runner.stop();
    for (const r of routers.values()) {
      r.router.destroyConnections();
      await r.router.close();
    }
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { clock, events, routers, dependencyFaults, runner };
}
