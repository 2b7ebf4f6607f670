// Inventory, drift and the per-host compatibility check on a real fleet (sshd in network
// namespaces): acme-auth runs on every host, its version read over HTTP at each host's address
// and by a command over SSH.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../clock/clock.ts';
import { createCompatibilityCheck } from '../checks/compatibility/compatibility-check.ts';
import type { DependencySource } from '../checks/compatibility/sources.ts';
import { MemoryEventLog } from '../events/memory-log.ts';
import { fleetOf } from '../fleet/fleet.ts';
import { SshTarget } from '../targets/ssh/ssh-target.ts';
import { createTestFleet } from '../targets/ssh/testing/netns-fleet.ts';
import { canRun, collectInventory, formatInventory, inventoryProblems } from './inventory.ts';

const made = await createTestFleet([{ name: 'staging-1' }, { name: 'web-1' }, { name: 'web-2' }, { name: 'web-3' }]);
const ACME = fileURLToPath(new URL('../../examples/acme-auth/server.mjs', import.meta.url));

if (!made.fleet) {
  test('inventory on a fleet', { skip: made.skip }, () => {});
} else {
  const fleet = made.fleet;
  const procs: ChildProcess[] = [];
  const versionDir = mkdtempSync(join(tmpdir(), 'gl-inv-'));
  const versions: Record<string, string> = { 'staging-1': '2.4.1', 'web-1': '3.1.0', 'web-2': '3.1.0', 'web-3': '2.4.1' };
  for (const h of fleet.hosts) {
    // acme-auth on each host, at the host's address (its HTTP source), and a version file per
    // address (its command source: hosts share this filesystem, not their addresses)
    const child = spawn('ip', ['netns', 'exec', h.netns, process.execPath, ACME, '7100', versions[h.name]!], { env: { ...process.env, HOST: h.address }, stdio: 'ignore' });
    procs.push(child);
    writeFileSync(join(versionDir, h.address), `acme-auth ${versions[h.name]} (build 7)\n`);
  }
  const target = new SshTarget(
    { hosts: fleet.hosts.map((h) => ({ name: h.name, address: h.address, dir: join(h.dir, 'greenlight'), labels: { role: h.name.startsWith('staging') ? 'staging' : 'web' } })), auth: { key_file: fleet.clientKey, agent: false }, known_hosts: fleet.knownHosts },
    { stateDir: mkdtempSync(join(tmpdir(), 'gl-inv-state-')), events: new MemoryEventLog(), clock: systemClock },
  );
  after(async () => {
    await target.close();
    for (const p of procs) p.kill('SIGKILL');
    await fleet.close();
  });
  const http: DependencySource = { kind: 'host_http', url: 'http://{address}:7100/version', field: 'version', desired: '3.1.0' };
  const command: DependencySource = { kind: 'host_command', command: `cat ${versionDir}/$(hostname -I | awk '{print $1}')`, match: 'acme-auth (\\S+)' };

  const waitUp = async () => {
    for (let i = 0; i < 100; i++) {
      const ok = await Promise.all(fleet.hosts.map((h) => fetch(`http://${h.address}:7100/healthz`).then((r) => r.ok, () => false)));
      if (ok.every(Boolean)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('acme-auth did not come up on every host');
  };

  test('inventory: every host reports its dependency versions, OS and releases; drift names the hosts; canRun says why not', async () => {
    await waitUp();
    const f = fleetOf(target)!;
    const inv = await collectInventory('production', f, { 'acme-auth': http, 'acme-cli': command }, { clock: systemClock });
    assert.deepEqual(
      Object.fromEntries(inv.hosts.map((h) => [h.host, h.dependencies['acme-auth']?.version])),
      versions,
    );
    assert.deepEqual(Object.fromEntries(inv.hosts.map((h) => [h.host, h.dependencies['acme-cli']?.version])), versions);
    assert.ok(inv.hosts.every((h) => h.reachable && h.os && h.os !== 'unknown'));
    const desired = inv.drift.find((d) => d.dependency === 'acme-auth')!;
    assert.equal(desired.kind, 'desired');
    assert.match(desired.message, /staging-1, web-3 on 2\.4\.1/);
    const disagree = inv.drift.find((d) => d.dependency === 'acme-cli')!;
    assert.equal(disagree.kind, 'disagree');
    const release = { service: 'web', version: '2.0.0', digest: 'sha256:' + '0'.repeat(64), requires: { 'acme-auth': '>=3.0.0 <4' } };
    const web3 = inv.hosts.find((h) => h.host === 'web-3')!;
    assert.deepEqual(canRun(web3, release, { 'acme-auth': http }), { ok: false, reasons: ['web-3 runs acme-auth 2.4.1; web@2.0.0 needs >=3.0.0 <4'] });
    assert.equal(canRun(inv.hosts.find((h) => h.host === 'web-1')!, release, { 'acme-auth': http }).ok, true);
    const text = formatInventory(inv, [release], { 'acme-auth': http });
    assert.match(text, /web-3 +10\.213\.\d+\.13 +2\.4\.1/);
    assert.match(text, /web-3: web@2\.0\.0 no \(web-3 runs acme-auth 2\.4\.1; web@2\.0\.0 needs >=3\.0\.0 <4\)/);
    assert.match(text, /drift: acme-auth should be 3\.1\.0 everywhere/);
  });

  test('inventory: supervisor: systemd on a host without systemd is that host\'s problem, shown with the hint, and makes inventory fail', async () => {
    const strict = new SshTarget(
      { hosts: [{ name: 'web-1', address: fleet.host('web-1').address, dir: join(fleet.host('web-1').dir, 'greenlight'), supervisor: 'systemd' }, { name: 'web-2', address: fleet.host('web-2').address, dir: join(fleet.host('web-2').dir, 'greenlight') }], auth: { key_file: fleet.clientKey, agent: false }, known_hosts: fleet.knownHosts },
      { stateDir: mkdtempSync(join(tmpdir(), 'gl-inv-state-')), events: new MemoryEventLog(), clock: systemClock },
    );
    try {
      const inv = await collectInventory('production', fleetOf(strict)!, {}, { clock: systemClock });
      const [web1, web2] = inv.hosts;
      assert.equal(web1!.reachable, true);
      assert.equal(web1!.supervisor, undefined);
      assert.match(web1!.supervisorError!.message, /host web-1 is configured with supervisor: systemd, but/);
      assert.equal(web2!.supervisor?.kind, 'greenlight');
      assert.equal(web2!.supervisorError, undefined);
      const text = formatInventory(inv, [], {});
      assert.match(text, /^web-1 +\S+ +.+ +error +- +-$/m);
      assert.match(text, /^! web-1 supervisor: host web-1 is configured with supervisor: systemd, but .*\n {2}hint: set supervisor: auto \(or greenlight\) for web-1/m);
      assert.deepEqual(inventoryProblems(inv).map((p) => p.split(':')[0]), ['web-1 supervisor'], 'the exit is non-zero because of web-1 only');
    } finally {
      await strict.close();
    }
  });

  test('inventory: a host whose key is refused is not called unreachable; one that is gone is', async () => {
    // web-1 with an empty known_hosts (its key is unknown), web-2 at an address nothing answers on
    const empty = join(mkdtempSync(join(tmpdir(), 'gl-inv-kh-')), 'known_hosts');
    writeFileSync(empty, '');
    const gone = fleet.subnet + '.250';
    const t2 = new SshTarget(
      { hosts: [{ name: 'web-1', address: fleet.host('web-1').address, dir: join(fleet.host('web-1').dir, 'greenlight') }, { name: 'web-2', address: gone, dir: join(fleet.host('web-2').dir, 'greenlight') }], auth: { key_file: fleet.clientKey, agent: false }, known_hosts: empty, connect_timeout: '2s' },
      { stateDir: mkdtempSync(join(tmpdir(), 'gl-inv-state-')), events: new MemoryEventLog(), clock: systemClock },
    );
    try {
      const inv = await collectInventory('production', fleetOf(t2)!, { 'acme-auth': http }, { clock: systemClock, timeoutMs: 3000 });
      const [web1, web2] = inv.hosts;
      assert.equal(web1!.reachable, false);
      assert.equal(web1!.failure, 'host key refused');
      assert.equal(web2!.failure, 'unreachable');
      const text = formatInventory(inv, [], { 'acme-auth': http });
      assert.match(text, /^web-1 +\S+ +host key refused/m);
      assert.match(text, /^! web-1 host key refused: /m);
      assert.match(text, /^! web-2 unreachable: /m);
      assert.deepEqual(inventoryProblems(inv).map((p) => p.split(':')[0]), ['web-1 host key refused', 'web-2 unreachable']);
    } finally {
      await t2.close();
    }
  });

  test('compatibility check: every host is evaluated and the failing ones are named', async () => {
    await waitUp();
    const check = createCompatibilityCheck('compatibility', { kind: 'compatibility' });
    const ctx = {
      environment: 'production',
      service: 'web',
      release: { version: '2.0.0', digest: 'sha256:x', requires: { 'acme-auth': '>=3.0.0 <4' } },
      instanceUrls: [],
      dependencies: { 'acme-auth': http },
      fleet: fleetOf(target)!,
      clock: systemClock,
    };
    const r = await check.run(ctx);
    assert.equal(r.verdict, 'fail');
    assert.match(r.message, /staging-1 runs acme-auth 2\.4\.1; web@2\.0\.0 needs >=3\.0\.0 <4/);
    assert.match(r.message, /web-3 runs acme-auth 2\.4\.1; web@2\.0\.0 needs >=3\.0\.0 <4/);
    assert.doesNotMatch(r.message, /web-1 runs/);
    // a host that cannot be reached is an error naming it, not a pass
    await fleet.cutLink('web-2');
    try {
      const r2 = await check.run({ ...ctx, release: { ...ctx.release, requires: { 'acme-auth': '>=2.0.0' } } });
      assert.equal(r2.verdict, 'error');
      assert.match(r2.message, /web-2/);
    } finally {
      await fleet.restoreLink('web-2');
    }
  });
}
