// Both runners pass one contract, each on the kind of host it is for: Greenlight's supervisor on a
// plain test host, systemd units on a test host that really runs systemd. Then what only systemd
// does (the supervisor itself restarted after kill -9, the unit file and its removal), and which
// runner a host gets.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { GreenlightError } from '../../../errors/errors.ts';
import { sshTargetConfigSchema } from '../config.ts';
import { HostConnection } from '../connection.ts';
import { RemoteHost, parseSupervisorLine, type SupervisorLine } from '../host.ts';
import { createTestFleet, type TestFleet } from '../testing/netns-fleet.ts';
import { systemdHostUnavailable, TEST_USERS } from '../testing/systemd-host.ts';
import { chooseSupervisor, runnerFor } from './detect.ts';
import { runnerContract, type RunnerHarness } from './runner.contract.ts';
import type { SupervisorKind } from './runner.ts';
import { unitName } from './systemd.ts';

// where a systemd test host cannot be made, sd-1 is a plain host: Greenlight's supervisor is still
// tested, what needs systemd is skipped saying why
const noSystemd = systemdHostUnavailable();
const made = await createTestFleet([{ name: 'sd-1', systemd: noSystemd === undefined }, { name: 'plain-1' }]);
const noSudo = noSystemd ?? (existsSync('/usr/bin/sudo') ? undefined : '/usr/bin/sudo is missing (Debian package sudo; .ci/run installs it)');

function openHost(fleet: TestFleet, name: string, supervisor: 'auto' | SupervisorKind = 'auto', user: { name: string; uid: number } = { name: 'root', uid: 0 }): { host: RemoteHost; close(): void } {
  const h = fleet.host(name);
  const dir = join(h.dir, `greenlight-runners-${user.name}`);
  // the user's own directory (the hosts share this machine's filesystem)
  mkdirSync(dir, { recursive: true });
  chownSync(dir, user.uid, user.uid);
  const config = sshTargetConfigSchema.parse({
    kind: 'ssh',
    hosts: [{ name: h.name, address: h.address, user: user.name, dir }],
    auth: { key_file: fleet.clientKey, agent: false },
    known_hosts: fleet.knownHosts,
    connect_timeout: 3000,
    supervisor,
  });
  const conn = new HostConnection(config.hosts[0]!, config, {});
  return { host: new RemoteHost(config.hosts[0]!, config, conn), close: () => conn.close() };
}

function processAlive(fleet: TestFleet, name: string, pid: number): boolean {
  if (!(pid > 0)) return false;
  // alive and not a zombie, as the host sees it (a systemd host has its own PID namespace)
  return fleet.exec(name, ['sh', '-c', `s=$(cat /proc/${pid}/stat 2>/dev/null) && [ "$(echo "$s" | sed 's/.*) //' | cut -c1)" != Z ] && echo yes || true`]).trim() === 'yes';
}

function harness(fleet: TestFleet, name: string, kind: SupervisorKind, user?: { name: string; uid: number }): RunnerHarness {
  return {
    open() {
      const { host, close } = openHost(fleet, name, 'auto', user);
      return { host, runner: runnerFor(host, kind), close };
    },
    processAlive: (pid) => processAlive(fleet, name, pid),
    leftovers(id) {
      const dir = join(fleet.host(name).dir, `greenlight-runners-${user?.name ?? 'root'}`, 'instances', id);
      const found = fleet.exec(name, ['sh', '-c', `cd ${dir} 2>/dev/null && ls -1 run.sh armed 2>/dev/null; true`]).split('\n').filter(Boolean);
      if (kind === 'systemd') {
        const unit = unitName(id);
        if (fleet.exec(name, ['sh', '-c', `test -e /etc/systemd/system/${unit} && echo file; true`]).trim()) found.push(`/etc/systemd/system/${unit}`);
        const loaded = fleet.exec(name, ['sh', '-c', `systemctl list-units --all --no-legend --plain ${unit} | cut -d' ' -f1; true`]).trim();
        if (loaded) found.push(`loaded unit ${loaded}`);
      }
      return found;
    },
  };
}

async function supervisorLines(host: RemoteHost, id: string): Promise<SupervisorLine[]> {
  const r = await host.conn.exec(`cat ${host.eventsFile} 2>/dev/null || true`);
  return r.stdout.split('\n').map(parseSupervisorLine).filter((l): l is SupervisorLine => l !== undefined && l.id === id);
}

if (!made.fleet) {
  test('instance runners on a plain and a systemd test host', { skip: made.skip }, () => {});
} else {
  const fleet = made.fleet;
  after(() => fleet.close());

  runnerContract("Greenlight's supervisor (plain host)", () => harness(fleet, 'plain-1', 'greenlight'));
  if (noSystemd === undefined) runnerContract('systemd units (systemd host)', () => harness(fleet, 'sd-1', 'systemd'));
  else test('systemd units (systemd host)', { skip: noSystemd }, () => {});
  if (noSudo === undefined) runnerContract('systemd units through sudo -n (systemd host, a user other than root)', () => harness(fleet, 'sd-1', 'systemd', TEST_USERS.sudo));
  else test('systemd units through sudo -n', { skip: noSudo }, () => {});

  test('supervisor: auto takes systemd for a user sudo -n lets manage units, and Greenlight\'s supervisor for one it does not; the unit runs as that user', { skip: noSudo ?? false }, async () => {
    const deploy = openHost(fleet, 'sd-1', 'auto', TEST_USERS.sudo);
    const nosudo = openHost(fleet, 'sd-1', 'auto', TEST_USERS.plain);
    const id = `svc-${process.pid.toString(16)}sudo`;
    const runner = runnerFor(deploy.host, 'systemd');
    try {
      const a = await chooseSupervisor(deploy.host, 'auto');
      assert.deepEqual([a.kind, a.reason], ['systemd', `systemd is ${/is (\S+) and/.exec(a.reason)?.[1]} and ${TEST_USERS.sudo.name} manages its units with sudo -n`]);
      const b = await chooseSupervisor(nosudo.host, 'auto');
      assert.equal(b.kind, 'greenlight');
      assert.match(b.reason, new RegExp(`${TEST_USERS.plain.name} is not root and sudo -n does not allow systemctl`));
      await assert.rejects(chooseSupervisor(nosudo.host, 'systemd'), (e: unknown) => e instanceof GreenlightError && e.code === 'CONFIG_INVALID' && /host sd-1/.test(e.message) && /sudo/.test(e.hint!));
      await deploy.host.prepare();
      const digest = `sha256:${'0'.repeat(64)}`;
      await deploy.host.conn.exec(`mkdir -p ${deploy.host.releaseDir(digest)}`);
      const pid = await runner.launch({ id, digest, command: 'while :; do sleep 0.05; done', env: {}, graceMs: 300, backoff: { initial: 100, max: 1000, reset_after: 60_000 }, describe: { service: 'svc', version: '1.0.0', environment: 'test' } });
      assert.match(fleet.exec('sd-1', ['cat', `/etc/systemd/system/${unitName(id)}`]), new RegExp(`^User=${TEST_USERS.sudo.name}$`, 'm'));
      assert.equal(fleet.exec('sd-1', ['sh', '-c', `stat -c %u /proc/${pid}`]).trim(), String(TEST_USERS.sudo.uid), 'the supervisor runs as that user');
    } finally {
      await runner.kill(id, 0, 0).catch(() => {});
      await runner.remove(id).catch(() => {});
      deploy.close();
      nosudo.close();
    }
  });

  test('supervisor: auto takes systemd on the systemd host and Greenlight\'s supervisor on the plain one, saying why; an explicit systemd where it cannot be is an error naming the host', { skip: noSystemd ?? false }, async () => {
    const sd = openHost(fleet, 'sd-1');
    const plain = openHost(fleet, 'plain-1');
    try {
      const a = await chooseSupervisor(sd.host, 'auto');
      assert.equal(a.kind, 'systemd');
      assert.match(a.reason, /systemd is (running|degraded)/);
      const b = await chooseSupervisor(plain.host, 'auto');
      assert.equal(b.kind, 'greenlight');
      assert.match(b.reason, /does not run systemd/);
      assert.equal((await chooseSupervisor(sd.host, 'greenlight')).kind, 'greenlight');
      assert.equal((await chooseSupervisor(sd.host, 'systemd')).kind, 'systemd');
      await assert.rejects(chooseSupervisor(plain.host, 'systemd'), (e: unknown) => {
        assert.ok(e instanceof GreenlightError);
        assert.equal(e.code, 'CONFIG_INVALID');
        assert.match(e.message, /host plain-1 .*supervisor: systemd.*does not run systemd/);
        assert.match(e.hint!, /supervisor: auto/);
        return true;
      });
    } finally {
      sd.close();
      plain.close();
    }
  });

  test('systemd: a unit systemd refuses to start is an error naming the host and the unit, and its file is removed again', { skip: noSystemd ?? false }, async () => {
    // systemctl enable fails on this host for a moment: a wrapper first in the SSH sessions' PATH
    const h = fleet.host('sd-1');
    const bin = join(h.dir, 'fail-enable');
    fleet.exec('sd-1', ['sh', '-c', `mkdir -p ${bin} ${h.dir}/.ssh && printf '%s\\n' '#!/bin/sh' 'case "$1" in enable) echo "Failed to enable unit: simulated by the test" >&2; exit 1;; esac' 'exec /usr/bin/systemctl "$@"' > ${bin}/systemctl && chmod +x ${bin}/systemctl && echo "PATH=${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" > ${h.dir}/.ssh/environment`]);
    const { host, close } = openHost(fleet, 'sd-1');
    const id = `svc-${process.pid.toString(16)}nope`;
    try {
      await host.prepare();
      const digest = `sha256:${'0'.repeat(64)}`;
      await assert.rejects(
        runnerFor(host, 'systemd').launch({ id, digest, command: 'sleep 100', env: {}, graceMs: 100, backoff: { initial: 100, max: 1000, reset_after: 60_000 }, describe: { service: 'svc', version: '1.0.0', environment: 'test' } }),
        (e: unknown) => {
          assert.ok(e instanceof GreenlightError);
          assert.equal(e.code, 'HOST_COMMAND_FAILED');
          assert.match(e.message, new RegExp(`host sd-1: systemd could not start ${unitName(id)}.*simulated by the test`));
          assert.match(e.hint!, /systemctl status/);
          return true;
        },
      );
      assert.equal(fleet.exec('sd-1', ['sh', '-c', `test -e /etc/systemd/system/${unitName(id)} && echo there; systemctl list-units --all --no-legend ${unitName(id)}; true`]).trim(), '', 'no unit left');
    } finally {
      close();
      fleet.exec('sd-1', ['rm', '-rf', bin, `${h.dir}/.ssh/environment`]);
    }
  });

  test('systemd: the unit is enabled for boot, stops within the grace; its supervisor killed with -9 is started again by systemd, with a new instance', { skip: noSystemd ?? false }, async () => {
    const { host, close } = openHost(fleet, 'sd-1');
    const runner = runnerFor(host, 'systemd');
    const id = `svc-${process.pid.toString(16)}sd`;
    try {
      await host.prepare();
      const digest = `sha256:${'0'.repeat(64)}`;
      await host.conn.exec(`mkdir -p ${host.releaseDir(digest)}`);
      const pid = await runner.launch({ id, digest, command: 'trap "exit 0" TERM; while :; do sleep 0.05; done', env: {}, graceMs: 1500, backoff: { initial: 100, max: 1000, reset_after: 60_000 }, describe: { service: 'svc', version: '1.0.0', environment: 'test' } });
      const unit = unitName(id);
      const file = fleet.exec('sd-1', ['cat', `/etc/systemd/system/${unit}`]);
      assert.match(file, /^KillMode=mixed$/m);
      assert.match(file, /^TimeoutStopSec=6500ms$/m, 'the grace plus the slack');
      assert.match(file, /^Restart=on-failure$/m);
      assert.match(file, /^WantedBy=multi-user\.target$/m);
      assert.match(file, /^User=root$/m, 'the SSH user');
      assert.equal(fleet.exec('sd-1', ['sh', '-c', 'ls -A /etc/systemd/system | grep "^\\.greenlight-" || true']).trim(), '', 'written under a temporary name, renamed: none left');
      assert.match(file, /^Description=Greenlight svc@1\.0\.0 \(test\) instance /m);
      assert.equal(fleet.exec('sd-1', ['systemctl', 'is-enabled', unit]).trim(), 'enabled');
      assert.equal(fleet.exec('sd-1', ['systemctl', 'show', '-p', 'MainPID', '--value', unit]).trim(), String(pid));
      await host.arm(id);
      for (let i = 0; i < 200 && (await supervisorLines(host, id)).length === 0; i++) await delay(25);
      const [first] = await supervisorLines(host, id);
      const child = Number(first!.args[0]);

      fleet.exec('sd-1', ['kill', '-9', String(pid)]);
      let again: SupervisorLine | undefined;
      for (let i = 0; i < 400 && !again; i++) {
        again = (await supervisorLines(host, id)).find((l) => l.kind === 'started' && Number(l.args[2]) !== pid);
        if (!again) await delay(25);
      }
      assert.ok(again, 'a new supervisor reported a new start');
      assert.notEqual(Number(again.args[0]), child, 'with a new instance process');
      assert.ok(!processAlive(fleet, 'sd-1', child), 'the old instance went with the old supervisor (they never share a port)');
      const alive = await runner.alive(id);
      assert.equal(alive?.supervisorPid, Number(again.args[2]));

      await runner.requestStop(id, alive!.supervisorPid);
      for (let i = 0; i < 400 && (await runner.alive(id)); i++) await delay(25);
      assert.equal(await runner.alive(id), undefined);
      assert.equal((await supervisorLines(host, id)).find((l) => l.kind === 'stopped')?.args[1], '1', 'stopped gracefully');
      await runner.remove(id);
      assert.equal(fleet.exec('sd-1', ['sh', '-c', `test -e /etc/systemd/system/${unit} && echo there; systemctl list-units --all --no-legend ${unit}; true`]).trim(), '', 'no unit file, no unit loaded');
    } finally {
      await runner.kill(id, 0, 0).catch(() => {});
      await runner.remove(id).catch(() => {});
      close();
    }
  });
}
