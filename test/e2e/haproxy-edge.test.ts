// The environment's router on an edge host (issue 12, part 4): a real HAProxy (Debian's package)
// runs inside the namespace of its own fleet host, edge-1, its frontend on edge-1's address and its
// runtime API a TCP stats socket on that address; the controller drives it from the root
// namespace over the bridge, as from another machine. Releases roll out canary-first (web-1), then
// in waves to web-2 and web-3, real sshd hosts in namespaces; clients reach the service only
// through edge-1's frontend, under bounded load.
// 1. web@2.0.0 while acme-auth is 2.4.1 on the hosts: the canary fails every request it answers
//    and is rolled back on HAProxy's counts, stable never failing;
// 2. acme-auth upgraded on the hosts: web@2.0.0 rolls out through the waves with 0 failed requests;
// 3. the edge's HAProxy restarts and loses the table the runtime API gave it: the controller
//    restores the stable version on it (environment.traffic.restored).
// Skipped (with the reason) where the fleet (root, sshd, iproute2) or HAProxy cannot be had.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/clock/clock.ts';
import { freePorts } from '../../src/app/free-port.ts';
import { repoRoot } from '../../src/demo/workspace.ts';
import { acmeTools, startFleetAcme } from '../../src/fleet/testing.ts';
import { startClientLoad } from '../../src/load/clients.ts';
import { createTestFleet } from '../../src/targets/ssh/testing/netns-fleet.ts';
import { RuntimeApi } from '../../src/traffic/haproxy/runtime-api.ts';
import { haproxyMissing, startEdgeHaproxy } from '../../src/traffic/haproxy/testing.ts';
import { assertCanaryRolledBack, type CliRun } from './workspace.ts';

const bin = join(repoRoot, 'bin/greenlight.js');
const missing = haproxyMissing();
const made = missing ? { skip: missing } : await createTestFleet([{ name: 'edge-1' }, { name: 'web-1' }, { name: 'web-2' }, { name: 'web-3' }]);

test('the router on an edge host: HAProxy in edge-1 driven over TCP; a failing canary rolled back on its counts, a healthy release canary-first in waves with 0 failed requests, the table restored after HAProxy restarts', { skip: made.skip ?? false, timeout: 420_000 }, async (t) => {
  const fleet = made.fleet!;
  const cleanup: (() => Promise<unknown> | void)[] = [];
  // one hook, in order: the controller and instances, then HAProxy and acme-auth, then the hosts
  t.after(async () => {
    for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => undefined);
  });
  cleanup.push(() => fleet.close());
  const acme = await startFleetAcme(fleet, '2.4.1');
  cleanup.push(() => acme.stop());
  const tools = acmeTools(fleet);
  const edge = fleet.host('edge-1');
  const haproxy = await startEdgeHaproxy({ netns: edge.netns, address: edge.address, stickiness: { kind: 'hash' } });
  cleanup.push(() => haproxy.stop());
  const c = haproxy.config;
  assert.match(c.socket, /^10\.\d+\.\d+\.\d+:\d+$/, 'the runtime API is a TCP socket on the edge host');

  const dir = mkdtempSync(join(tmpdir(), 'gl-e2e-edge-'));
  const [controller] = await freePorts(1);
  const web = ['web-1', 'web-2', 'web-3'];
  const config = {
    version: 1,
    state_dir: '.greenlight',
    controller: { listen: `127.0.0.1:${controller}` },
    services: { web: { command: [process.execPath, 'server.mjs'], health: { path: '/healthz', timeout: '15s' }, instances: 1, stop_grace: '2s', env: { AUTH_URL: 'http://{HOST}:7100' } } },
    environments: [
      {
        name: 'production',
        // off: the failing release must meet user traffic for the canary to be tested
        synthetic_checks: false,
        target: {
          kind: 'ssh',
          hosts: web.map((n) => ({ name: n, address: fleet.host(n).address, dir: join(fleet.host(n).dir, 'greenlight') })),
          auth: { key_file: fleet.clientKey },
          known_hosts: fleet.knownHosts,
          min_free_mb: 1,
          restart_backoff: { initial: '100ms', max: '1s' },
        },
        traffic: { kind: 'haproxy', socket: c.socket, backend: c.backend, map: c.map, url: c.url },
        instances: 3,
        switch: { verify_for: '0s', drain: '300ms' },
        rollout: {
          steps: [{ weight: 20, hold: '2s' }, { weight: 50, hold: '2s' }],
          min_requests: 5,
          interval: '100ms',
          analysis: { latency: { minEffectMs: 500 } },
          waves: { canary: { hosts: 1 }, batch_size: 1, max_unavailable: 1, verify_for: '1s', unavailable_timeout: '3s' },
        },
      },
    ],
  };
  const configFile = join(dir, 'greenlight.yaml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const env = { ...process.env, PATH: `${join(repoRoot, 'node_modules/.bin')}:${process.env.PATH}`, NO_COLOR: '1' };
  const cli = (args: string[], timeoutMs = 180_000): Promise<CliRun> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [bin, '--config', configFile, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  cleanup.push(() => cli(['down', '--all'], 60_000));

  const up = await cli(['up', '--detach']);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  for (const v of ['1.0.0', '2.0.0']) {
    const r = await cli(['release', 'web', v, '--artifact', join(repoRoot, 'examples', 'web', `v${v[0]}`)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  }
  const first = await cli(['deploy', 'web@1.0.0']);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const prod = `${c.url}/`;
  assert.equal((await fetch(prod)).headers.get('x-greenlight-version'), '1.0.0', 'the edge serves 1.0.0');

  // 1. acme-auth 2.4.1 on the hosts: web@2.0.0's canary fails every request it answers
  let load = startClientLoad({ url: prod, rate: 100, durationMs: 90_000, clients: 300 }, systemClock);
  const failing = await cli(['deploy', 'web@2.0.0']);
  await new Promise((r) => setTimeout(r, 500));
  let counts = await load.stop();
  assertCanaryRolledBack(failing, counts, { via: 'through the edge', canary: 'the canary' });
  assert.equal((await fetch(prod)).headers.get('x-greenlight-version'), '1.0.0', 'after the rollback the edge serves 1.0.0');

  // 2. acme-auth upgraded on the hosts: the release is healthy, canary-first on one host, then waves
  for (const h of web) fleet.exec(h, ['sh', '-c', tools.acmectl('3.1.0')]);
  for (const h of web) assert.equal(await tools.acmeVersion(h), '3.1.0');
  load = startClientLoad({ url: prod, rate: 100, durationMs: 120_000, clients: 300 }, systemClock);
  const healthy = await cli(['deploy', 'web@2.0.0']);
  counts = await load.stop();
  assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
  assert.match(healthy.stdout, /canary at 20%/);
  assert.match(healthy.stdout, /wave 1\/2: switching web-/);
  assert.match(healthy.stdout, /wave 2\/2 healthy/);
  t.diagnostic(`healthy rollout through the edge: ${counts.sent} requests, ${counts.failed} failed`);
  assert.ok(counts.sent > 200, `load ran (${counts.sent})`);
  assert.equal(counts.failed, 0, `failed: ${counts.failed} of ${counts.sent}`);
  // the edge holds the final table: 2.0.0 alone, on the three hosts
  const api = new RuntimeApi({ socket: c.socket });
  const map = await api.map(c.map);
  assert.equal(map.get('@weight:2.0.0'), '100/0');
  assert.equal(map.has('@weight:1.0.0'), false);
  const servers = (await api.stat(c.backend)).filter((r) => r.svname !== 'BACKEND' && r.status === 'UP' && Number(r.weight) > 0).map((r) => r.addr!.split(':')[0]);
  assert.deepEqual(servers.sort(), web.map((n) => fleet.host(n).address).sort());

  // 3. the edge's HAProxy restarts: what the runtime API set is gone (503 from its disabled slots);
  // the controller sees a provider without a table and sends the stable version all traffic again
  await haproxy.restart();
  assert.equal((await api.map(c.map)).size, 0, 'the restarted HAProxy holds no table');
  let served: string | null = null;
  for (let i = 0; i < 150 && served !== '2.0.0'; i++) {
    const r = await fetch(prod, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    await r?.arrayBuffer();
    served = r?.status === 200 ? r.headers.get('x-greenlight-version') : null;
    if (served !== '2.0.0') await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(served, '2.0.0', 'the edge serves the stable version again after its restart');
  const restored = (await cli(['events', '--type', 'environment.traffic.restored', '--json'])).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { data: Record<string, unknown> });
  assert.equal(restored.length, 1, JSON.stringify(restored));
  assert.equal(restored[0]!.data.version, '2.0.0');
  assert.equal(restored[0]!.data.upstreams, 3);
  load = startClientLoad({ url: prod, rate: 100, durationMs: 3_000, clients: 300 }, systemClock);
  counts = await load.done;
  assert.ok(counts.sent > 100, `load ran (${counts.sent})`);
  assert.equal(counts.failed, 0, `after the restore: ${counts.failed} of ${counts.sent} failed`);
  assert.deepEqual([...counts.byVersion.keys()], ['2.0.0']);
});
