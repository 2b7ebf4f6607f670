// Both runners pass one contract, each on the kind of host it is for: Greenlight's supervisor on a
// plain test host, systemd units on a test host that really runs systemd. Then what only systemd
// does (the supervisor itself restarted after kill -9, the unit file and its removal), and which
// runner a host gets.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { GreenlightError } from '../../../errors/errors.ts';
import { sshTargetConfigSchema } from '../config.ts';
import { HostConnection } from '../connection.ts';
import { RemoteHost, parseSupervisorLine, type SupervisorLine } from '../host.ts';
import { createTestFleet, type TestFleet } from '../testing/netns-fleet.ts';
import { chooseSupervisor, runnerFor } from './detect.ts';
import { runnerContract, type RunnerHarness } from './runner.contract.ts';
import type { SupervisorKind } from './runner.ts';
import { unitName } from './systemd.ts';

const made = await createTestFleet([{ name: 'sd-1', systemd: true }, { name: 'plain-1' }]);

function openHost(fleet: TestFleet, name: string, supervisor: 'auto' | SupervisorKind = 'auto'): { host: RemoteHost; close(): void } {
  const h = fleet.host(name);
  const config = sshTargetConfigSchema.parse({
    kind: 'ssh',
    hosts: [{ name: h.name, address: h.address, dir: join(h.dir, 'greenlight-runners') }],
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

function harness(fleet: TestFleet, name: string, kind: SupervisorKind): RunnerHarness {
  return {
    open() {
      const { host, close } = openHost(fleet, name);
      return { host, runner: runnerFor(host, kind), close };
    },
    processAlive: (pid) => processAlive(fleet, name, pid),
    leftovers(id) {
      const dir = join(fleet.host(name).dir, 'greenlight-runners', 'instances', id);
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
  runnerContract('systemd units (systemd host)', () => harness(fleet, 'sd-1', 'systemd'));

  test('supervisor: auto takes systemd on the systemd host and Greenlight\'s supervisor on the plain one, saying why; an explicit systemd where it cannot be is an error naming the host', async () => {
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

  test('systemd: the unit is enabled for boot, stops within the grace; its supervisor killed with -9 is started again by systemd, with a new instance', async () => {
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
