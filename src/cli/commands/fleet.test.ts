// `greenlight inventory` and `greenlight logs` as a user runs them: the real CLI, a config with an
// ssh environment, real sshd hosts in network namespaces.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../clock/clock.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { fixtureSpec, writeFixtureApp } from '../../targets/local/fixture-app.ts';
import { SshTarget } from '../../targets/ssh/ssh-target.ts';
import { createTestFleet } from '../../targets/ssh/testing/netns-fleet.ts';
import { systemdHostUnavailable } from '../../targets/ssh/testing/systemd-host.ts';

const BIN = fileURLToPath(new URL('../../../bin/greenlight.js', import.meta.url));
const ACME = fileURLToPath(new URL('../../../examples/acme-auth/server.mjs', import.meta.url));
// web-2 runs systemd where a systemd test host can be made (its instances run under units)
const withSystemd = systemdHostUnavailable() === undefined;
const made = await createTestFleet([{ name: 'web-1' }, { name: 'web-2', systemd: withSystemd }]);

function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

if (!made.fleet) {
  test('greenlight inventory / logs on a fleet', { skip: made.skip }, () => {});
} else {
  const fleet = made.fleet;
  const procs: ChildProcess[] = [];
  const versions: Record<string, string> = { 'web-1': '3.1.0', 'web-2': '2.4.1' };
  for (const h of fleet.hosts) procs.push(spawn('ip', ['netns', 'exec', h.netns, process.execPath, ACME, '7100', versions[h.name]!], { env: { ...process.env, HOST: h.address }, stdio: 'ignore' }));
  const dir = mkdtempSync(join(tmpdir(), 'gl-cli-fleet-'));
  const hosts = fleet.hosts.map((h) => `      - { name: ${h.name}, address: ${h.address}, dir: ${join(h.dir, 'greenlight')} }`).join('\n');
  writeFileSync(
    join(dir, 'greenlight.yaml'),
    `version: 1
state_dir: .greenlight
services:
  web:
    command: [node, server.mjs]
    health: { path: /healthz, timeout: 10s }
environments:
  - name: production
    target:
      kind: ssh
      known_hosts: ${fleet.knownHosts}
      auth: { key_file: ${fleet.clientKey} }
      hosts:
${hosts}
    router: { listen: 127.0.0.1:18099 }
    dependencies:
      acme-auth: { kind: host_http, url: "http://{address}:7100/version", field: version, desired: 3.1.0 }
`,
  );
  const target = new SshTarget(
    { hosts: fleet.hosts.map((h) => ({ name: h.name, address: h.address, dir: join(h.dir, 'greenlight') })), auth: { key_file: fleet.clientKey }, known_hosts: fleet.knownHosts },
    { stateDir: mkdtempSync(join(tmpdir(), 'gl-cli-state-')), events: new MemoryEventLog(), clock: systemClock },
  );
  after(async () => {
    await target.close({ stopInstances: true });
    for (const p of procs) p.kill('SIGKILL');
    await fleet.close();
  });

  test('greenlight inventory prints the matrix and the drift, exit 1 on drift; greenlight logs reads each host', async () => {
    for (let i = 0; i < 100; i++) {
      const ok = await Promise.all(fleet.hosts.map((h) => fetch(`http://${h.address}:7100/healthz`).then((r) => r.ok, () => false)));
      if (ok.every(Boolean)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = await target.start(fixtureSpec(writeFixtureApp(), 'healthy'), 2);
    const inv = await cli(['inventory'], dir);
    assert.equal(inv.code, 1, inv.stderr);
    assert.match(inv.stdout, /web-1 +\S+ +3\.1\.0/);
    assert.match(inv.stdout, /web-2 +\S+ +2\.4\.1/);
    assert.match(inv.stdout, /drift: acme-auth should be 3\.1\.0 everywhere; web-2 on 2\.4\.1/);
    assert.match(inv.stdout, /^host +address +acme-auth +os +supervisor +holds +runs$/m);
    assert.match(inv.stdout, /^web-1 .* greenlight +\S+ +\S+$/m, 'no systemd on web-1: Greenlight\'s supervisor');
    assert.match(inv.stdout, new RegExp(`^web-2 .* ${withSystemd ? 'systemd' : 'greenlight'} +\\S+ +\\S+$`, 'm'));
    const json = JSON.parse((await cli(['inventory', '--json'], dir)).stdout) as { environments: { hosts: { host: string; running: unknown[]; supervisor: { kind: string; reason: string } }[] }[] };
    assert.deepEqual(json.environments[0]!.hosts.map((h) => h.running.length), [1, 1]);
    assert.deepEqual(json.environments[0]!.hosts.map((h) => h.supervisor.kind), ['greenlight', withSystemd ? 'systemd' : 'greenlight']);

    const logs = await cli(['logs', 'web', '--env', 'production', '--host', 'web-2'], dir);
    assert.equal(logs.code, 0, logs.stderr);
    const onWeb2 = started.find((i) => i.host === 'web-2')!;
    assert.match(logs.stdout, new RegExp(`\\[web-2 ${onWeb2.id}\\] \\[fixture \\d+\\] listening on ${onWeb2.port}`));
    assert.doesNotMatch(logs.stdout, /\[web-1 /);
    if (withSystemd) assert.equal(fleet.exec('web-2', ['systemctl', 'is-active', `greenlight-${onWeb2.id}.service`]).trim(), 'active', 'read from an instance under its systemd unit');
  });

  test('greenlight inventory with an unknown host key says what to do; with accept_new it says it accepted the key, with the fingerprint; an unreadable dependency version is exit 1', async () => {
    const config = readFileSync(join(dir, 'greenlight.yaml'), 'utf8');
    const empty = join(mkdtempSync(join(tmpdir(), 'gl-cli-kh-')), 'known_hosts');
    writeFileSync(empty, '');
    const other = mkdtempSync(join(tmpdir(), 'gl-cli-unknown-'));
    writeFileSync(join(other, 'greenlight.yaml'), config.replace(`known_hosts: ${fleet.knownHosts}`, `known_hosts: ${empty}`));
    const refused = await cli(['inventory'], other);
    assert.equal(refused.code, 1, refused.stderr);
    const web1 = fleet.host('web-1');
    assert.match(refused.stdout, new RegExp(`! web-1 host key refused: .*unknown ssh-ed25519 host key ${web1.fingerprint.replace(/[+/]/g, '\\$&')}`));
    // the hint: how to check the key, how to add it, or accept_new
    assert.match(refused.stdout, new RegExp(`\\n  hint: compare .*ssh-keyscan -p 22 ${web1.address.replace(/\./g, '\\.')} >> ${empty}.*accept_new: true`));
    assert.equal(readFileSync(empty, 'utf8'), '', 'nothing is added without accept_new');

    writeFileSync(join(other, 'greenlight.yaml'), config.replace(`known_hosts: ${fleet.knownHosts}`, `known_hosts: ${empty}\n      accept_new: true`));
    const accepted = await cli(['inventory', '--env', 'production'], other);
    assert.match(accepted.stdout, /web-1 +\S+ +3\.1\.0/);
    for (const h of fleet.hosts) {
      assert.ok(accepted.stderr.includes(`note: accepted the unknown ssh-ed25519 host key ${h.fingerprint} of ${h.name} (${h.address}:22) and added it to ${empty}`), accepted.stderr);
    }
    assert.match(accepted.stderr, /not in the event log/);
    assert.equal(readFileSync(empty, 'utf8').trim().split('\n').length, fleet.hosts.length);
    // a dependency version no host answers for is not known to be right: exit 1, named
    writeFileSync(join(other, 'greenlight.yaml'), config.replace(':7100/version', ':7999/version'));
    const unread = await cli(['inventory', '--env', 'production'], other);
    assert.equal(unread.code, 1, unread.stdout + unread.stderr);
    assert.match(unread.stdout, /! web-1 acme-auth: .*7999\/version: could not connect/);
    writeFileSync(join(other, 'greenlight.yaml'), config.replace(`known_hosts: ${fleet.knownHosts}`, `known_hosts: ${empty}\n      accept_new: true`));
    // once recorded, a key is known: no note the second time
    const again = await cli(['inventory', '--env', 'production'], other);
    assert.doesNotMatch(again.stderr, /note: accepted/);
  });
}
