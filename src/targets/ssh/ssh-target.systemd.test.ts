// The ssh target on a host that really runs systemd (testing/systemd-host.ts): the target
// contract there, and what an instance under its systemd unit lives through. Skipped, saying why,
// where such a host cannot be made (not root, no overlayfs, no systemd).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { systemClock } from '../../clock/clock.ts';
import { GreenlightError } from '../../errors/errors.ts';
import { queryType } from '../../events/log.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { fixtureSpec, writeFixtureApp, type FixtureMode } from '../local/fixture-app.ts';
import { httpStatus, targetContract } from '../target.contract.ts';
import type { InstanceInfo } from '../target.ts';
import type { SshTargetInput } from './config.ts';
import { unitName } from './runners/systemd.ts';
import { SshTarget } from './ssh-target.ts';
import { createTestFleet } from './testing/netns-fleet.ts';
import { TEST_USERS } from './testing/systemd-host.ts';

const made = await createTestFleet([{ name: 'sd-1', systemd: true }, { name: 'plain-1' }]);
const artifact = writeFixtureApp();

if (!made.fleet) {
  test('SshTarget on a systemd host', { skip: made.skip }, () => {});
} else {
  const fleet = made.fleet;
  const open: SshTarget[] = [];
  after(async () => {
    for (const t of open) await t.close({ stopInstances: true }).catch(() => {});
    await fleet.close();
  });

  const config = (names: string[], over: Partial<SshTargetInput> = {}): SshTargetInput => ({
    hosts: names.map((n) => fleet.host(n)).map((h) => ({ name: h.name, address: h.address, dir: join(h.dir, 'greenlight') })),
    auth: { key_file: fleet.clientKey, agent: false },
    known_hosts: fleet.knownHosts,
    restart_backoff: { initial: 100, max: 1000, reset_after: 60_000 },
    connect_timeout: 3000,
    min_free_mb: 1,
    ...over,
  });
  const setup = (names: string[], over: Partial<SshTargetInput> = {}, stateDir = mkdtempSync(join(tmpdir(), 'gl-sd-'))) => {
    const events = new MemoryEventLog();
    const target = new SshTarget(config(names, over), { stateDir, events, clock: systemClock });
    open.push(target);
    return { stateDir, events, target };
  };
  const onHost = (cmd: string) => fleet.exec('sd-1', ['sh', '-c', cmd]).trim();
  const unitState = (i: InstanceInfo) => onHost(`systemctl is-active ${unitName(i.id)} || true`);
  const unitFileThere = (i: InstanceInfo) => onHost(`test -e /etc/systemd/system/${unitName(i.id)} && echo yes || echo no`) === 'yes';
  const until = async (what: string, f: () => Promise<boolean> | boolean, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (!(await f())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await delay(25);
    }
  };

  targetContract('SshTarget (systemd host)', () => ({
    open: (stateDir, events) => {
      const t = new SshTarget(config(['sd-1']), { stateDir, events, clock: systemClock });
      open.push(t);
      return t;
    },
    spec: (mode, over) => fixtureSpec(artifact, mode as FixtureMode, over),
    crash: async (_target, instance) => void (await fetch(instance.url + '/crash')).text(),
  }));

  test('SshTarget: a fleet of a systemd host and a plain host deploys to both, each host\'s supervisor chosen (auto) and recorded', async () => {
    const { target, events, stateDir } = setup(['sd-1', 'plain-1']);
    const started = await target.start(fixtureSpec(artifact, 'healthy'), 2);
    assert.deepEqual(started.map((i) => i.host).sort(), ['plain-1', 'sd-1']);
    for (const i of started) assert.equal(await httpStatus(i.url + '/healthz'), 200);
    const chosen = Object.fromEntries((await queryType(events, 'host.supervisor')).map((e) => [e.data.host, e.data]));
    assert.equal(chosen['sd-1']?.supervisor, 'systemd');
    assert.equal(chosen['sd-1']?.requested, 'auto');
    assert.equal(chosen['plain-1']?.supervisor, 'greenlight');
    assert.match(chosen['plain-1']!.reason, /does not run systemd/);
    assert.equal((await queryType(events, 'host.supervisor')).length, 2, 'once per host');
    const sd = started.find((i) => i.host === 'sd-1')!;
    const plain = started.find((i) => i.host === 'plain-1')!;
    assert.equal(unitState(sd), 'active');
    assert.ok(!existsSync(`/etc/systemd/system/${unitName(plain.id)}`), 'no unit for the plain host (nor on this machine)');
    const records = readdirSync(join(stateDir, 'ssh-instances')).map((f) => JSON.parse(readFileSync(join(stateDir, 'ssh-instances', f), 'utf8')) as { host: string; supervisor: string });
    assert.deepEqual(Object.fromEntries(records.map((r) => [r.host, r.supervisor])), { 'sd-1': 'systemd', 'plain-1': 'greenlight' });
    assert.deepEqual(await target.fleet().supervisor('sd-1').then((s) => s.kind), 'systemd');
    await target.close({ stopInstances: true });
    assert.ok(!unitFileThere(sd), 'the unit is gone after the stop');
  });

  test('SshTarget: supervisor: systemd on a host without systemd is refused naming the host; supervisor: greenlight on a systemd host runs no unit', async () => {
    const { target } = setup(['plain-1'], { supervisor: 'systemd' });
    await assert.rejects(target.start(fixtureSpec(artifact, 'healthy'), 1), (e: unknown) => e instanceof GreenlightError && e.code === 'CONFIG_INVALID' && /host plain-1/.test(e.message) && /supervisor: auto/.test(e.hint!));
    assert.equal(target.list().length, 0);
    await target.close();
    const { target: t2, events } = setup(['sd-1'], { hosts: [{ name: 'sd-1', address: fleet.host('sd-1').address, dir: join(fleet.host('sd-1').dir, 'greenlight'), supervisor: 'greenlight' }] });
    const [i] = await t2.start(fixtureSpec(artifact, 'healthy'), 1);
    assert.equal(await httpStatus(i!.url + '/healthz'), 200);
    assert.equal((await queryType(events, 'host.supervisor'))[0]?.data.supervisor, 'greenlight');
    assert.ok(!unitFileThere(i!), 'no unit');
    await t2.close({ stopInstances: true });
  });

  test('SshTarget on systemd: an instance survives the controller and its SSH session, is restarted with back-off after kill -9, survives kill -9 of its supervisor, is adopted after a controller restart and stopped gracefully', async () => {
    const first = setup(['sd-1']);
    const [i] = await first.target.start(fixtureSpec(artifact, 'healthy'), 1);
    const inst = i!;
    // the controller goes (its SSH connection with it): the instance and its unit stay
    await first.target.close();
    assert.equal(await httpStatus(inst.url + '/healthz'), 200);
    assert.equal(unitState(inst), 'active');

    const { target, events } = setup(['sd-1'], {}, first.stateDir);
    const adopted = await target.adopt();
    assert.deepEqual(adopted.map((a) => a.id), [inst.id]);
    assert.equal((await queryType(events, 'instance.adopted'))[0]?.data.healthy, true);
    const ready = async () => (await queryType(events, 'instance.ready')).length;

    // kill -9 of the service process, twice: restarted by the supervisor with a doubling back-off
    for (let n = 1; n <= 2; n++) {
      const pid = target.list()[0]!.pid;
      onHost(`kill -9 ${pid}`);
      await until(`ready after kill ${n}`, async () => (await ready()) === n);
      assert.notEqual(target.list()[0]!.pid, pid);
    }
    const crashes = await queryType(events, 'instance.crashed');
    assert.deepEqual(crashes.map((e) => e.data.restartInMs), [100, 200]);
    assert.deepEqual(crashes.map((e) => e.data.signal), ['signal 9', 'signal 9']);

    // kill -9 of the supervisor: systemd starts it again, which starts the instance again
    const supervisor = Number(onHost(`systemctl show -p MainPID --value ${unitName(inst.id)}`));
    onHost(`kill -9 ${supervisor}`);
    await until('ready after the supervisor was killed', async () => (await ready()) === 3);
    const [, , third] = await queryType(events, 'instance.crashed');
    assert.equal(third?.data.detectedBy, 'systemd');
    assert.match(third!.data.reason!, /supervisor died/);
    assert.equal((await queryType(events, 'instance.restarted')).length, 3);
    assert.notEqual(Number(onHost(`systemctl show -p MainPID --value ${unitName(inst.id)}`)), supervisor);
    assert.equal(await httpStatus(inst.url + '/healthz'), 200);
    assert.equal(target.list()[0]!.state, 'ready');

    // a controller restart after all that finds it again
    await target.close();
    const again = setup(['sd-1'], {}, first.stateDir);
    assert.deepEqual((await again.target.adopt()).map((a) => a.id), [inst.id]);

    await again.target.stop([inst.id]);
    const [stopped] = await queryType(again.events, 'instance.stopped');
    assert.equal(stopped?.data.graceful, true);
    assert.match(onHost(`cat ${join(fleet.host('sd-1').dir, 'greenlight', 'instances', inst.id, 'log')}`), /SIGTERM received, draining/);
    assert.ok(!unitFileThere(inst), 'the unit file is removed');
    assert.equal(onHost(`systemctl list-units --all --no-legend ${unitName(inst.id)}`), '', 'and systemd knows it no more');
    assert.equal(await httpStatus(inst.url + '/healthz', 500), 0);
    await again.target.close();
  });

  test('SshTarget on systemd: the host loses power and boots again: systemd starts the instance at boot, the controller records the restart and it serves and stops as before', async () => {
    const { target, events } = setup(['sd-1']);
    const [i] = await target.start(fixtureSpec(artifact, 'healthy'), 1);
    const before = Number(onHost(`systemctl show -p MainPID --value ${unitName(i!.id)}`));
    await fleet.reboot('sd-1');
    await until('the instance answering after the boot', async () => (await httpStatus(i!.url + '/healthz', 500)) === 200, 60_000);
    assert.equal(unitState(i!), 'active', 'started at boot by systemd (enabled, WantedBy=multi-user.target)');
    await until('the controller has it ready again', async () => (await queryType(events, 'instance.ready')).length === 2, 60_000);
    const [crash] = await queryType(events, 'instance.crashed');
    // from the new supervisor's first line, or from the reconcile after the reconnection, whichever came first
    assert.ok(['systemd', 'reconcile'].includes(crash?.data.detectedBy ?? ''), JSON.stringify(crash?.data));
    assert.equal((await queryType(events, 'instance.restarted')).length, 1);
    assert.equal((await queryType(events, 'host.unreachable'))[0]?.data.host, 'sd-1', 'the host was out of rotation meanwhile');
    assert.ok((await queryType(events, 'host.reachable')).length >= 1);
    const now = target.list()[0]!;
    assert.equal(now.state, 'ready');
    assert.equal(now.pid, Number(onHost(`cat ${join(fleet.host('sd-1').dir, 'greenlight', 'instances', i!.id, 'child.pid')}`)), 'the controller knows the new process');
    assert.notEqual(Number(onHost(`systemctl show -p MainPID --value ${unitName(i!.id)}`)), before);
    await target.stop([i!.id]);
    assert.equal((await queryType(events, 'instance.stopped'))[0]?.data.graceful, true);
    assert.ok(!unitFileThere(i!));
    await target.close();
  });

  test('SshTarget on systemd: as a user other than root whom sudo -n lets manage units, instances run under units as that user, and stop', { skip: existsSync('/usr/bin/sudo') ? false : '/usr/bin/sudo is missing (Debian package sudo; .ci/run installs it)' }, async () => {
    const h = fleet.host('sd-1');
    const dir = join(h.dir, 'greenlight-as-deploy');
    mkdirSync(dir, { recursive: true });
    chownSync(dir, TEST_USERS.sudo.uid, TEST_USERS.sudo.uid);
    const { target, events } = setup(['sd-1'], { hosts: [{ name: 'sd-1', address: h.address, user: TEST_USERS.sudo.name, dir }] });
    const [i] = await target.start(fixtureSpec(artifact, 'healthy'), 1);
    assert.equal((await queryType(events, 'host.supervisor'))[0]?.data.supervisor, 'systemd');
    assert.equal(await httpStatus(i!.url + '/healthz'), 200);
    assert.equal(unitState(i!), 'active');
    assert.equal(onHost(`stat -c %U /proc/${i!.pid}`), TEST_USERS.sudo.name, 'the instance runs as the SSH user');
    await target.stop([i!.id]);
    assert.equal((await queryType(events, 'instance.stopped'))[0]?.data.graceful, true);
    assert.ok(!unitFileThere(i!));
    await target.close();
  });

  test('SshTarget on systemd: an instance crashing at start leaves no unit behind (nothing would start it at boot)', async () => {
    const { target } = setup(['sd-1']);
    let error: unknown;
    await target.start(fixtureSpec(artifact, 'crash-at-start'), 1).catch((e: unknown) => (error = e));
    assert.ok(error instanceof GreenlightError && error.code === 'INSTANCE_CRASHED', String(error));
    // (greenlight-testhost* are the test host's own units)
    assert.equal(onHost('ls /etc/systemd/system | grep -c "^greenlight-web-" || true'), '0');
    assert.equal(onHost('systemctl list-units --all --no-legend "greenlight-web-*" | wc -l'), '0');
    await target.close();
  });

  test('SshTarget on systemd: an instance stopped on the host by someone else (systemctl stop) is lost, and its unit removed', async () => {
    const { target, events } = setup(['sd-1']);
    const [i] = await target.start(fixtureSpec(artifact, 'healthy'), 1);
    onHost(`systemctl stop ${unitName(i!.id)}`);
    await until('instance.lost', async () => (await queryType(events, 'instance.lost')).length === 1);
    assert.equal((await queryType(events, 'instance.lost'))[0]?.data.reason, 'stopped-on-host');
    assert.equal(target.list().length, 0);
    await until('the unit removed', () => !unitFileThere(i!));
    assert.equal(onHost(`systemctl is-enabled ${unitName(i!.id)} 2>&1 || true`).includes('enabled'), false);
    await target.close();
  });

  test('SshTarget on systemd: an instance ignoring SIGTERM is killed after stop_grace (SIGKILL), and its unit removed', async () => {
    const { target, events } = setup(['sd-1']);
    const [i] = await target.start(fixtureSpec(artifact, 'ignore-sigterm', { stopGraceMs: 500 }), 1);
    assert.match(onHost(`grep TimeoutStopSec /etc/systemd/system/${unitName(i!.id)}`), /TimeoutStopSec=5500ms/);
    await target.stop([i!.id]);
    const [stopped] = await queryType(events, 'instance.stopped');
    assert.equal(stopped?.data.graceful, false);
    assert.match(onHost(`cat ${join(fleet.host('sd-1').dir, 'greenlight', 'instances', i!.id, 'log')}`), /ignoring SIGTERM/);
    assert.equal(await httpStatus(i!.url + '/healthz', 500), 0, 'killed');
    assert.ok(!unitFileThere(i!));
    await target.close();
  });
}
