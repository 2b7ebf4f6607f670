// A real pipeline on a real fleet, for tests of changes, inventory and fleet deployments: sshd hosts
// in network namespaces (staging-1; web-1..3 for production), acme-auth on every host at its
// address, ssh targets, in-process routers on loopback proxying to the hosts, the real Deployer.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../clock/clock.ts';
import { parseCheck } from '../checks/registry.ts';
import type { DependencySource } from '../checks/compatibility/sources.ts';
import { changesSchema } from '../changes/schema.ts';
import type { FleetDeps } from '../app/fleet-ops.ts';
import { MemoryEventLog } from '../events/memory-log.ts';
import { digestDirectory } from '../releases/digest.ts';
import { createRouter, type Router } from '../router/router.ts';
import { Deployer } from '../rollout/deployer.ts';
import type { EnvironmentRuntime, Runtime, ServiceRuntime } from '../rollout/runtime.ts';
import { rolloutSchema, type RolloutPolicyInput } from '../rollout/schema.ts';
import { inProcessAdmin } from '../rollout/testing.ts';
import { TrafficControl } from '../rollout/traffic.ts';
import { LiveState } from '../state/projection.ts';
import { SshTarget } from '../targets/ssh/ssh-target.ts';
import { createTestFleet, type TestFleet } from '../targets/ssh/testing/netns-fleet.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const ACME = join(EXAMPLES, 'acme-auth', 'server.mjs');

// sets the version of the acme-auth on the host it runs on; a host with a "broken-<address>" file
// pretends to upgrade and does not (a change that fails its verify there)
const ACMECTL = `
import { networkInterfaces } from 'node:os';
import { existsSync } from 'node:fs';
const address = (networkInterfaces().eth0 ?? []).find((a) => a.family === 'IPv4').address;
const version = process.argv[2];
if (existsSync(new URL('./broken-' + address, import.meta.url))) { console.log('pretending to set ' + version); process.exit(0); }
const r = await fetch('http://' + address + ':7100/admin/version', { method: 'POST', body: version });
console.log(await r.text());
process.exit(r.ok ? 0 : 1);
`;

/** acme-auth on every host of the fleet at its address, port 7100; resolves once each answers */
export async function startFleetAcme(fleet: TestFleet, version: string): Promise<{ stop(): void }> {
  const acme: ChildProcess[] = [];
  for (const h of fleet.hosts) {
    acme.push(spawn('ip', ['netns', 'exec', h.netns, process.execPath, ACME, '7100', version], { env: { ...process.env, HOST: h.address }, stdio: 'ignore' }));
  }
  for (let i = 0; i < 200; i++) {
    const up = await Promise.all(fleet.hosts.map((h) => fetch(`http://${h.address}:7100/healthz`).then((r) => r.ok, () => false)));
    if (up.every(Boolean)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { stop: () => acme.forEach((p) => p.kill('SIGKILL')) };
}

/** acmectl: a shell command setting acme-auth's version on the host it runs on; a broken host pretends */
export function acmeTools(fleet: TestFleet): { acmectl(version: string): string; breakHost(name: string): void; unbreakHost(name: string): void; acmeVersion(host: string): Promise<string>; dir: string } {
  const tools = mkdtempSync(join(tmpdir(), 'gl-fleet-tools-'));
  writeFileSync(join(tools, 'acmectl.mjs'), ACMECTL);
  return {
    dir: tools,
    acmectl: (version) => `${process.execPath} ${join(tools, 'acmectl.mjs')} ${version}`,
    breakHost: (name) => writeFileSync(join(tools, `broken-${fleet.host(name).address}`), ''),
    unbreakHost: (name) => rmSync(join(tools, `broken-${fleet.host(name).address}`), { force: true }),
    async acmeVersion(host) {
      const r = await fetch(`http://${fleet.host(host).address}:7100/version`);
      return ((await r.json()) as { version: string }).version;
    },
  };
}

export interface FleetPipeline {
  fleet: TestFleet;
  events: MemoryEventLog;
  state: LiveState;
  deployer: Deployer;
  runtime: Runtime;
  routers: Map<string, { router: Router; url: string }>;
  targets: Map<string, SshTarget>;
  fleetDeps: FleetDeps;
  /** shell command setting acme-auth's version on the host it runs on */
  acmectl(version: string): string;
  /** makes acmectl pretend on this host (its change does not take) */
  breakHost(name: string): void;
  unbreakHost(name: string): void;
  acmeVersion(host: string): Promise<string>;
  register(version: '1.0.0' | '2.0.0'): Promise<void>;
  close(): Promise<void>;
}

/** opts.systemd: the hosts that run systemd (the ssh target's `auto` gives their instances units) */
export async function fleetPipeline(opts: { production?: RolloutPolicyInput; acmeVersion?: string; changes?: unknown; systemd?: string[] } = {}): Promise<{ pipeline?: FleetPipeline; skip?: string }> {
  const sd = (name: string) => (opts.systemd?.includes(name) ? { systemd: true } : {});
  const made = await createTestFleet([{ name: 'staging-1', labels: { env: 'staging' }, ...sd('staging-1') }, { name: 'web-1', ...sd('web-1') }, { name: 'web-2', ...sd('web-2') }, { name: 'web-3', ...sd('web-3') }]);
  if (!made.fleet) return { skip: made.skip };
  const fleet = made.fleet;
  const clock = systemClock;
  const tools = acmeTools(fleet);
  const acme = await startFleetAcme(fleet, opts.acmeVersion ?? '2.4.1');
  const events = new MemoryEventLog(clock);
  const state = new LiveState(events);
  await state.start();
  const stateDir = mkdtempSync(join(tmpdir(), 'gl-fleet-state-'));
  const dependencies: Record<string, DependencySource> = { 'acme-auth': { kind: 'host_http', url: 'http://{address}:7100/version', field: 'version' } };
  const envHosts = { staging: ['staging-1'], production: ['web-1', 'web-2', 'web-3'] };
  const routers = new Map<string, { router: Router; url: string }>();
  const targets = new Map<string, SshTarget>();
  const runtimes: EnvironmentRuntime[] = [];
  const compatibility = parseCheck('compatibility', { kind: 'compatibility' });
  for (const [index, [name, hostNames]] of Object.entries(envHosts).entries()) {
    const router = createRouter({ name, clock });
    const addr = await router.listen('127.0.0.1:0');
    routers.set(name, { router, url: `http://127.0.0.1:${addr.port}` });
    const target = new SshTarget(
      {
        hosts: hostNames.map((n) => ({ name: n, address: fleet.host(n).address, dir: join(fleet.host(n).dir, 'greenlight') })),
        auth: { key_file: fleet.clientKey },
        known_hosts: fleet.knownHosts,
        restart_backoff: { initial: 100, max: 1000, reset_after: 60_000 },
        min_free_mb: 1,
      },
      { stateDir: join(stateDir, name), events, clock },
    );
    targets.set(name, target);
    runtimes.push({
      name,
      index,
      target,
      traffic: new TrafficControl(inProcessAdmin(router)),
      routerUrl: `http://127.0.0.1:${addr.port}`,
      checks: [compatibility],
      dependencies,
      instances: hostNames.length,
      env: {},
      verifyForMs: 0,
      drainMs: 200,
      ...(name === 'production' && opts.production ? { rollout: rolloutSchema.parse(opts.production) } : {}),
    });
  }
  const service: ServiceRuntime = {
    name: 'web',
    command: [process.execPath, 'server.mjs'],
    env: { AUTH_URL: 'http://{HOST}:7100' },
    health: { path: '/healthz', timeoutMs: 15_000, intervalMs: 50 },
    stopGraceMs: 2000,
    instances: 1,
  };
  const runtime: Runtime = { service: (n) => (n === 'web' ? service : undefined), environments: (n) => (n === 'web' ? runtimes : []) };
  const deployer = new Deployer({ events, state: state.view, runtime, clock });
  const fleetDeps: FleetDeps = {
    config: {
      environments: Object.keys(envHosts).map((name) => ({ name, target: { kind: 'ssh' }, dependencies })),
      services: { web: { health: { path: '/healthz' } } },
      changes: changesSchema.parse(opts.changes ?? {}),
    },
    events,
    clock,
    targets: targets as FleetDeps['targets'],
    traffic: (environment) => runtimes.find((r) => r.name === environment)?.traffic,
  };
  const pipeline: FleetPipeline = {
    fleet,
    events,
    state,
    deployer,
    runtime,
    routers,
    targets,
    fleetDeps,
    acmectl: tools.acmectl,
    breakHost: tools.breakHost,
    unbreakHost: tools.unbreakHost,
    acmeVersion: tools.acmeVersion,
    async register(version) {
      const dir = join(EXAMPLES, 'web', version === '1.0.0' ? 'v1' : 'v2');
      const { digest } = await digestDirectory(dir);
      const requires: Record<string, string> = version === '2.0.0' ? { 'acme-auth': '>=3.0.0 <4' } : {};
      await events.append({ type: 'release.registered', actor: 'test', subject: `release/web@${version}`, data: { service: 'web', version, digest, artifactDir: dir, source: dir, requires } });
    },
    async close() {
      for (const { router } of routers.values()) {
        router.destroyConnections();
        await router.close();
      }
      for (const t of targets.values()) await t.close({ stopInstances: true }).catch(() => {});
      state.stop();
      acme.stop();
      await fleet.close();
    },
  };
  return { pipeline };
}
