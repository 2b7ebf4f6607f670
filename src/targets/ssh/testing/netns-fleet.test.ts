// The fleet harness itself: real sshd per namespace, reachable at its own address, and guarded
// (a cut or unknown address in the range fails locally, nothing routes out of a namespace).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { createTestFleet } from './netns-fleet.ts';

function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 2000 });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    s.once('timeout', () => {
      s.destroy();
      resolve('timeout');
    });
  });
}

test('test fleet: sshd per host at its own address, guarded range, link cut fails locally, teardown removes everything', async (t) => {
  const made = await createTestFleet([{ name: 'staging-1' }, { name: 'web-1' }, { name: 'web-2' }, { name: 'web-3' }]);
  if (!made.fleet) return t.skip(made.skip);
  const fleet = made.fleet;
  let closed = false;
  try {
    assert.equal(new Set(fleet.hosts.map((h) => h.address)).size, 4);
    for (const h of fleet.hosts) assert.equal(await tryConnect(h.address, 22), 'connected', `sshd answers on ${h.name}`);
    // an address of the range with no host behind it fails at once, locally
    assert.equal(await tryConnect(`${fleet.subnet}.250`, 22), 'EHOSTUNREACH');
    // inside a namespace: no default route, so an outside address is unreachable from there
    const routes = fleet.exec('web-1', ['ip', 'route', 'show']);
    assert.ok(!/^default/m.test(routes), `no default route in the namespace: ${routes}`);
    assert.throws(() => fleet.exec('web-1', ['ip', 'route', 'get', '192.0.2.2']), /unreachable/i);
    // hosts reach the controller's bridge address (for the router, HAProxy, dependency endpoints)
    assert.match(fleet.exec('web-1', ['ip', 'route', 'get', fleet.controllerAddress]), /dev eth0/);
    await fleet.cutLink('web-2');
    assert.equal(await tryConnect(fleet.host('web-2').address, 22), 'EHOSTUNREACH', 'a cut host fails locally');
    assert.equal(await tryConnect(fleet.host('web-3').address, 22), 'connected', 'the others are untouched');
    await fleet.restoreLink('web-2');
    assert.equal(await tryConnect(fleet.host('web-2').address, 22), 'connected');
    const netns = fleet.hosts.map((h) => h.netns);
    await fleet.close();
    closed = true;
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const ns of netns) assert.ok(!left.includes(ns), `${ns} removed`);
    assert.ok(!execFileSync('ip', ['route', 'show', 'table', 'all'], { encoding: 'utf8' }).includes(`${fleet.subnet}.`), 'routes removed');
  } finally {
    if (!closed) await fleet.close();
  }
});

/** runs a command on the host over SSH with OpenSSH's own client, as a person would */
function sshRun(fleet: { clientKey: string; knownHosts: string }, address: string, command: string, timeoutMs: number): { out: string; ms: number } {
  const from = Date.now();
  const out = execFileSync(
    '/usr/bin/ssh',
    ['-i', fleet.clientKey, '-o', `UserKnownHostsFile=${fleet.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', `root@${address}`, command],
    { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return { out, ms: Date.now() - from };
}

test('test fleet: SSH sessions read none of this machine\'s dotfiles, so a stale lock in one cannot hang them', { skip: existsSync('/usr/bin/ssh') ? false : '/usr/bin/ssh is missing (Debian package openssh-client)' }, async (t) => {
  const made = await createTestFleet([{ name: 'web-1' }]);
  if (!made.fleet) return t.skip(made.skip);
  const fleet = made.fleet;
  t.after(() => fleet.close());
  const h = fleet.host('web-1');
  // the failure mode of root's ~/.bashrc running `pyenv init`: a startup file that waits on a
  // lock nobody will remove. Planted in the session's own home, for every shell that could read one.
  const lock = join(h.dir, '.stale-lock');
  writeFileSync(lock, '');
  const waitOnLock = `while [ -e ${lock} ]; do sleep 1; done\n`;
  for (const f of ['.bashrc', '.profile', '.bash_profile', '.shrc']) writeFileSync(join(h.dir, f), waitOnLock);
  const { out } = sshRun(fleet, h.address, 'echo "home=$HOME"; echo "shell=$(readlink /proc/$$/exe)"; echo "bash=${BASH_VERSION:-none}"', 20_000);
  assert.match(out, new RegExp(`home=${h.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`), 'the session\'s home is the host\'s own directory, not /root');
  assert.match(out, /shell=\/(usr\/)?bin\/dash\n/, 'a shell that reads no startup file for a command');
  assert.match(out, /bash=none/);
  // and this machine's real root dotfiles are not on the session's path at all
  assert.doesNotMatch(out, /home=\/root\n/);
});

test('test fleet: skewClock shifts what the host\'s `date` says over SSH, and nothing else', { skip: existsSync('/usr/bin/ssh') ? false : '/usr/bin/ssh is missing (Debian package openssh-client)' }, async (t) => {
  const made = await createTestFleet([{ name: 'web-1' }, { name: 'web-2' }]);
  if (!made.fleet) return t.skip(made.skip);
  const fleet = made.fleet;
  t.after(() => fleet.close());
  fleet.skewClock('web-1', 90_000);
  const read = (name: string) => {
    const before = Date.now();
    const remote = Number(sshRun(fleet, fleet.host(name).address, 'date +%s%3N', 20_000).out.trim());
    return remote - (before + Date.now()) / 2;
  };
  const skewed = read('web-1');
  assert.ok(Math.abs(skewed - 90_000) < 15_000, `web-1 reads ~90 s ahead (${skewed} ms)`);
  assert.ok(Math.abs(read('web-2')) < 15_000, 'web-2 is untouched');
  fleet.skewClock('web-1', 0);
  assert.ok(Math.abs(read('web-1')) < 15_000, 'back to true time');
});

test('test fleet: a systemd host runs its own systemd on its own root; what it writes or deletes in /etc, /var and /tmp leaves this machine untouched; teardown leaves nothing', { skip: existsSync('/usr/bin/ssh') ? false : '/usr/bin/ssh is missing (Debian package openssh-client)' }, async (t) => {
  const before = { issue: readFileSync('/etc/issue', 'utf8') };
  // what runs in the host: every process of its cgroup (other tests on this machine run their own haproxy, ...)
  const inHost = (cgroup: string) =>
    execFileSync('sh', ['-c', `for p in $(find ${cgroup} -name cgroup.procs -exec cat {} +); do cat /proc/$p/comm 2>/dev/null; done | sort -u`], { encoding: 'utf8' }).trim().split('\n');
  const made = await createTestFleet([{ name: 'sd-1', systemd: true }, { name: 'plain-1' }]);
  if (!made.fleet) return t.skip(made.skip);
  const fleet = made.fleet;
  let closed = false;
  try {
    const h = fleet.host('sd-1');
    assert.ok(h.systemd, 'the host runs systemd');
    // over SSH, as Greenlight reaches it: the session is inside that systemd's namespaces
    const probe = sshRun(fleet, h.address, 'test -d /run/systemd/system && echo has-run-systemd; systemctl is-system-running; hostname; cat /proc/1/comm', 20_000).out;
    assert.match(probe, /has-run-systemd\n(running|degraded)\nsd-1\nsystemd\n/, probe);
    assert.doesNotMatch(sshRun(fleet, fleet.host('plain-1').address, 'test -d /run/systemd/system && echo has-run-systemd || echo none', 20_000).out, /has-run-systemd/, 'the plain host does not look like systemd');
    // only the test host's own units run: none of this machine's enabled services
    const active = sshRun(fleet, h.address, 'systemctl list-units --type=service --state=active --no-legend --plain | cut -d" " -f1', 20_000).out.trim().split('\n');
    assert.deepEqual(active, ['greenlight-testhost-sshd.service']);
    const comms = inHost(h.systemd.cgroup);
    assert.ok(comms.includes('systemd') && comms.includes('sshd'), comms.join(' '));
    assert.deepEqual(comms.filter((c) => /^(haproxy|postgres|prometheus|nginx|cron|systemd-)/.test(c)), [], 'no service of this machine was started in the host');
    // what the host writes or deletes stays in its own root
    const token = `gl-probe-${process.pid}`;
    sshRun(fleet, h.address, `rm /etc/issue && echo x > /etc/${token} && echo x > /var/${token} && echo x > /tmp/${token}`, 20_000);
    for (const p of [`/etc/${token}`, `/var/${token}`, `/tmp/${token}`]) assert.ok(!existsSync(p), `${p} is not on this machine`);
    assert.equal(readFileSync('/etc/issue', 'utf8'), before.issue, '/etc/issue deleted on the host is still here');
    assert.match(sshRun(fleet, h.address, `cat /tmp/${token}; test -e /etc/issue || echo gone`, 20_000).out, /x\ngone/, 'and the host itself sees its writes');
    // the fleet's directory is shared (the host's own dir, keys): written there, seen here
    sshRun(fleet, h.address, `echo shared > ${join(h.dir, 'shared-probe')}`, 20_000);
    assert.equal(readFileSync(join(h.dir, 'shared-probe'), 'utf8'), 'shared\n');
    const cgroup = h.systemd.cgroup;
    const pid = h.systemd.pid;
    await fleet.close();
    closed = true;
    assert.ok(!existsSync(cgroup), 'its cgroup is removed');
    // gone, or a zombie its reaper has not collected yet
    assert.ok(!existsSync(`/proc/${pid}/stat`) || / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, '')), 'its systemd is gone');
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(h.dir), 'no mount of the host is left on this machine');
  } finally {
    if (!closed) await fleet.close();
  }
});
