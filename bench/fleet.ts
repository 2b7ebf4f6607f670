// npm run bench:fleet: a release rolled across 1, 3 and 6 hosts (real sshd in network namespaces,
// the ssh target, an in-process router, the real Deployer): time from `deploy` to promoted, median
// and worst of ROUNDS; and the upload time per MB of an artifact to one host. Needs root (the
// hosts are network namespaces); says why and exits 0 without figures otherwise.
// First, without root: the latency HAProxy adds as the traffic provider against the built-in
// router and direct (bench/traffic-latency.ts), written to bench/results/fleet-traffic.json.
// Then: the time from a host's silent link loss / freeze to out of rotation, built-in router and
// HAProxy, BENCH_LINK_ROUNDS (default 10) each (bench/fleet-links.ts).
// Writes bench/results/fleet.json (with the provider latency in trafficProviders).
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../src/clock/clock.ts';
import { MemoryEventLog } from '../src/events/memory-log.ts';
import { digestDirectory } from '../src/releases/digest.ts';
import { createRouter } from '../src/router/router.ts';
import { Deployer } from '../src/rollout/deployer.ts';
import { inProcessAdmin } from '../src/rollout/testing.ts';
import { TrafficControl } from '../src/rollout/traffic.ts';
import type { Runtime, ServiceRuntime } from '../src/rollout/runtime.ts';
import { LiveState } from '../src/state/projection.ts';
import { packArtifact } from '../src/targets/ssh/host.ts';
import { SshTarget } from '../src/targets/ssh/ssh-target.ts';
import { createTestFleet } from '../src/targets/ssh/testing/netns-fleet.ts';
import { measureProviderLatency, printProviderLatency } from './traffic-latency.ts';
import { measureLinkLoss } from './fleet-links.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIZES = [1, 3, 6];
const UPLOAD_MB = [4, 16, 64];
const LINK_ROUNDS = Number(process.env.BENCH_LINK_ROUNDS ?? 10);

const providers = await measureProviderLatency();
printProviderLatency(providers);
mkdirSync(here('./results'), { recursive: true });
writeFileSync(here('./results/fleet-traffic.json'), JSON.stringify({ measuredAt: new Date().toISOString(), ...providers }, null, 1) + '\n');
console.log('wrote bench/results/fleet-traffic.json');

const made = await createTestFleet(Array.from({ length: 6 }, (_, i) => ({ name: `web-${i + 1}` })));
if (!made.fleet) {
  console.log(`bench:fleet skipped: ${made.skip}`);
  process.exit(0);
}
const fleet = made.fleet;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

try {
  const roll: { hosts: number; runs: number[]; medianMs: number; worstMs: number }[] = [];
  for (const n of SIZES) {
    const clock = systemClock;
    const events = new MemoryEventLog(clock);
    const state = new LiveState(events);
    await state.start();
    const router = createRouter({ name: 'production', clock });
    const addr = await router.listen('127.0.0.1:0');
    const hosts = fleet.hosts.slice(0, n);
    const target = new SshTarget(
      { hosts: hosts.map((h) => ({ name: h.name, address: h.address, dir: join(h.dir, `greenlight-${n}`) })), auth: { key_file: fleet.clientKey }, known_hosts: fleet.knownHosts, concurrency: 6, min_free_mb: 1 },
      { stateDir: mkdtempSync(join(tmpdir(), 'gl-bench-fleet-')), events, clock },
    );
    const service: ServiceRuntime = { name: 'web', command: [process.execPath, 'server.mjs'], env: {}, health: { path: '/healthz', timeoutMs: 20_000, intervalMs: 50 }, stopGraceMs: 2000, instances: n };
    const runtime: Runtime = {
      service: () => service,
      environments: () => [
        { name: 'production', index: 0, target, traffic: new TrafficControl(inProcessAdmin(router)), routerUrl: `http://127.0.0.1:${addr.port}`, checks: [], dependencies: {}, instances: n, env: {}, verifyForMs: 0, drainMs: 100 },
      ],
    };
    const deployer = new Deployer({ events, state: state.view, runtime, clock });
    const runs: number[] = [];
    // round 0 puts a first version in place (its connections and supervisor too); not counted
    for (let r = 0; r <= ROUNDS; r++) {
      const version = `1.0.${r}`;
      const dir = mkdtempSync(join(tmpdir(), 'gl-bench-art-'));
      cpSync(here('../examples/web/v1'), dir, { recursive: true });
      writeFileSync(join(dir, 'round.txt'), `${n}-${r}-${randomBytes(4).toString('hex')}`);
      const { digest } = await digestDirectory(dir);
      await events.append({ type: 'release.registered', actor: 'bench', subject: `release/web@${version}`, data: { service: 'web', version, digest, artifactDir: dir, source: dir, requires: {} } });
      const t0 = performance.now();
      const d = await (await deployer.start({ service: 'web', version, actor: 'bench' })).done;
      const ms = performance.now() - t0;
      if (d.state !== 'promoted') throw new Error(`round ${r} on ${n} hosts ended ${d.state}`);
      if (r > 0) runs.push(Math.round(ms));
    }
    roll.push({ hosts: n, runs, medianMs: median(runs), worstMs: Math.max(...runs) });
    console.log(`roll a release across ${n} host${n > 1 ? 's' : ''}: median ${median(runs)} ms, worst ${Math.max(...runs)} ms (${ROUNDS} rounds: ${runs.join(', ')})`);
    router.destroyConnections();
    await router.close();
    await target.close({ stopInstances: true });
    state.stop();
  }

  const upload: { mb: number; ms: number; msPerMb: number }[] = [];
  const host = fleet.hosts[0]!;
  const target = new SshTarget(
    { hosts: [{ name: host.name, address: host.address, dir: join(host.dir, 'greenlight-upload') }], auth: { key_file: fleet.clientKey }, known_hosts: fleet.knownHosts, min_free_mb: 1 },
    { stateDir: mkdtempSync(join(tmpdir(), 'gl-bench-fleet-')), events: new MemoryEventLog(), clock: systemClock },
  );
  const remote = target.remoteHost(host.name);
  await remote.prepare();
  for (const mb of UPLOAD_MB) {
    const dir = mkdtempSync(join(tmpdir(), 'gl-bench-up-'));
    mkdirSync(dirname(join(dir, 'x')), { recursive: true });
    // random bytes: nothing on the way can compress them
    writeFileSync(join(dir, 'blob.bin'), randomBytes(mb * 1024 * 1024));
    const { digest } = await digestDirectory(dir);
    const tar = await packArtifact(dir);
    const t0 = performance.now();
    const r = await remote.ensureArtifact(digest, async () => tar, 0);
    const ms = performance.now() - t0;
    if (!r.uploaded) throw new Error('expected an upload');
    upload.push({ mb, ms: Math.round(ms), msPerMb: Math.round((ms / mb) * 10) / 10 });
    console.log(`upload ${mb} MB to one host (write, sha256 on the host, unpack, rename): ${Math.round(ms)} ms, ${(ms / mb).toFixed(1)} ms per MB`);
  }
  await target.close();
  // a host that goes away without a word: time to out of rotation (bench/fleet-links.ts)
  const linkLoss = await measureLinkLoss(fleet, LINK_ROUNDS);
  const result = { measuredAt: new Date().toISOString(), rounds: ROUNDS, roll, upload, linkLoss, trafficProviders: providers, note: 'hosts are network namespaces on this machine (veth + bridge): no real network latency; the machine is shared' };
  mkdirSync(here('./results'), { recursive: true });
  writeFileSync(here('./results/fleet.json'), JSON.stringify(result, null, 1) + '\n');
  console.log('wrote bench/results/fleet.json');
} finally {
  await fleet.close();
}
