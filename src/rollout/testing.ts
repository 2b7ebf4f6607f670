// A pipeline assembled from real parts for tests: in-memory event log, fake targets (in-process
// HTTP instances), real in-process routers on loopback, real checks. Only process spawning is
// left out, which the end-to-end tests cover.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../clock/clock.ts';
import { parseCheck } from '../checks/registry.ts';
import type { Check } from '../checks/check.ts';
import { MemoryEventLog } from '../events/memory-log.ts';
import { createRouter, type Router } from '../router/router.ts';
import { LiveState } from '../state/projection.ts';
import { FakeTarget } from '../targets/fake/fake-target.ts';
import { Deployer } from './deployer.ts';
import type { EnvironmentRuntime, Runtime, ServiceRuntime } from './runtime.ts';
import { TrafficControl, type RouterAdmin } from './traffic.ts';
import { rolloutSchema, type RolloutPolicyInput } from './schema.ts';
import { syntheticChecks } from './synthetic.ts';

export interface FixtureEnv {
  name: string;
  rollout?: RolloutPolicyInput;
  checks?: Record<string, unknown>;
  dependencies?: EnvironmentRuntime['dependencies'];
  instances?: number;
  verifyForMs?: number;
  /** synthetic requests to new instances before users (default true, as in the config) */
  synthetic?: boolean;
}

export interface PipelineFixture {
  events: MemoryEventLog;
  state: LiveState;
  deployer: Deployer;
  runtime: Runtime;
  routers: Map<string, { router: Router; url: string }>;
  targets: Map<string, FakeTarget>;
  service: ServiceRuntime;
  register(version: string, requires?: Record<string, string>, digest?: string): Promise<void>;
  close(): Promise<void>;
}

export function inProcessAdmin(router: Router): RouterAdmin {
  return {
    setTable: (t) => router.setTable(t),
    getTable: async () => router.table(),
    stats: async () => router.stats(),
  };
}

/**
 * versionEnv: extra environment per release version, so one version can misbehave
 * (FAKE_STATUS=500, FAKE_DELAY_MS=40) while the other is healthy.
 */
export async function pipelineFixture(envs: FixtureEnv[], opts: { clock?: Clock; command?: string; versionEnv?: Record<string, Record<string, string>> } = {}): Promise<PipelineFixture> {
  const clock = opts.clock ?? systemClock;
  const events = new MemoryEventLog(clock);
  const state = new LiveState(events);
  await state.start();
  const dir = mkdtempSync(join(tmpdir(), 'gl-pipeline-'));
  const service: ServiceRuntime = {
    name: 'web',
    command: opts.command ?? 'fake:healthy',
    env: {},
    health: { path: '/healthz', timeoutMs: 2000, intervalMs: 20 },
    stopGraceMs: 500,
    instances: 2,
  };
  const routers = new Map<string, { router: Router; url: string }>();
  const targets = new Map<string, FakeTarget>();
  const runtimes: EnvironmentRuntime[] = [];
  for (const [index, env] of envs.entries()) {
    const router = createRouter({ name: env.name, clock });
    const addr = await router.listen('127.0.0.1:0');
    const url = `http://127.0.0.1:${addr.port}`;
    routers.set(env.name, { router, url });
    const target = new FakeTarget({ restart_backoff_ms: 50 }, { stateDir: join(dir, env.name), events, clock });
    const start = target.start.bind(target);
    target.start = (spec, count, o) => start({ ...spec, env: { ...spec.env, ...(opts.versionEnv?.[spec.version] ?? {}) } }, count, o);
    targets.set(env.name, target);
    const checks: Check[] = Object.entries(env.checks ?? {}).map(([name, spec]) => parseCheck(name, spec));
    runtimes.push({
      name: env.name,
      index,
      target,
      traffic: new TrafficControl(inProcessAdmin(router)),
      routerUrl: url,
      checks,
      synthetic: env.synthetic === false ? [] : syntheticChecks(Object.entries(env.checks ?? {}), { parsed: false }),
      dependencies: env.dependencies ?? {},
      instances: env.instances ?? 1,
      env: {},
      verifyForMs: env.verifyForMs ?? 0,
      drainMs: 100,
      ...(env.rollout ? { rollout: rolloutSchema.parse(env.rollout) } : {}),
    });
  }
  const runtime: Runtime = {
    service: (name) => (name === 'web' ? service : undefined),
    environments: (name) => (name === 'web' ? runtimes : []),
  };
  const deployer = new Deployer({ events, state: state.view, runtime, clock });
  return {
    events,
    state,
    deployer,
    runtime,
    routers,
    targets,
    service,
    async register(version, requires = {}, digest = `sha256:${version.replace(/\./g, '').padEnd(64, '0')}`) {
      await events.append({ type: 'release.registered', actor: 'test', subject: `release/web@${version}`, data: { service: 'web', version, digest, artifactDir: dir, source: dir, requires } });
    },
    async close() {
      for (const { router } of routers.values()) {
        router.destroyConnections();
        await router.close();
      }
      for (const t of targets.values()) await t.close({ stopInstances: true });
      state.stop();
    },
  };
}
