// A test host that really runs systemd (PID 1 of its own PID namespace), for the ssh target's
// systemd runner. Booting systemd on this machine's shared root is destructive (it starts every
// enabled service and systemd-tmpfiles empties /tmp), so a systemd host gets:
// - its own root: an overlayfs whose lower layer is this machine's / (never written: writes go to
//   the upper layer) and whose upper/work dirs are on a tmpfs (on the same filesystem as / the
//   kernel refuses them as overlapping layers) held by a process of its own mount namespace, so the
//   host's disk outlives a reboot; all its mounts live in namespaces of its own (propagation
//   private), so they vanish with them;
// - new mount, PID, UTS, IPC and cgroup namespaces entered inside the host's network namespace,
//   then pivot_root into the overlay: a fresh /proc with /proc/sys read-only, /sys read-only, its
//   own cgroup2 tree (a cgroup of its own on this machine, made the namespace's root, which also
//   kills everything in it at teardown), a private /dev of a few bound nodes, tmpfs /run and /tmp;
//   the fleet's directory (keys, the hosts' own dirs) bound at the same path, read-write, and
//   Node's directory bound read-only (it may be on another mount than /);
// - a minimal boot: `systemd --unit=greenlight-testhost.target`, which wants only the host's sshd
//   (its own config, address and keys) and multi-user.target, every unit the lower layer enables
//   or pulls in statically masked (services, timers, sockets, udev, sysctl, modules, tmpfiles,
//   getty, journald, ...) and every generator masked, /etc/fstab empty. Greenlight's own units use
//   normal default dependencies and WantedBy=multi-user.target, as on a real host;
// - sshd as a unit of that systemd, so SSH sessions land in its namespaces and `systemctl` talks
//   to it.
// Teardown: the cgroup's cgroup.kill (every process of the host at once), then rmdir of its
// cgroups; the namespace's mounts go with its last process. The launcher runs with a parent-death
// signal, so a test process killed outright takes the host with it; removeStaleSystemdHosts()
// clears whatever a killed run left.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const SYSTEMD = '/lib/systemd/systemd';
const TOOLS = ['/usr/bin/unshare', '/usr/bin/nsenter', '/usr/sbin/pivot_root', '/usr/bin/setpriv'];
const UNIT_DIRS = ['/etc/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system'];
const GENERATOR_DIRS = ['/lib/systemd/system-generators', '/usr/lib/systemd/system-generators', '/etc/systemd/system-generators'];
/** units masked besides everything the lower layer's .wants/.requires directories list */
const ALSO_MASKED = [
  'systemd-udevd.service', 'systemd-udevd-control.socket', 'systemd-udevd-kernel.socket', 'systemd-udev-trigger.service', 'systemd-udev-settle.service',
  'systemd-sysctl.service', 'systemd-modules-load.service', 'systemd-remount-fs.service', 'systemd-hwdb-update.service',
  'systemd-tmpfiles-clean.timer', 'systemd-tmpfiles-clean.service', 'systemd-tmpfiles-setup.service', 'systemd-tmpfiles-setup-dev.service',
  'systemd-journald.service', 'systemd-journald.socket', 'systemd-journald-dev-log.socket', 'systemd-journald-audit.socket', 'systemd-journal-flush.service', 'systemd-journal-catalog-update.service',
  'systemd-update-done.service', 'systemd-update-utmp.service', 'systemd-update-utmp-runlevel.service', 'systemd-logind.service', 'systemd-networkd.service', 'systemd-resolved.service',
  'systemd-timesyncd.service', 'systemd-random-seed.service', 'systemd-firstboot.service', 'systemd-sysusers.service', 'systemd-machine-id-commit.service', 'systemd-binfmt.service',
  'systemd-boot-system-token.service', 'systemd-pstore.service', 'systemd-repart.service', 'ldconfig.service',
  'console-getty.service', 'getty@.service', 'serial-getty@.service', 'container-getty@.service', 'getty.target',
  'dbus.service', 'dbus.socket', 'cron.service', 'ssh.service', 'ssh.socket', 'nginx.service', 'haproxy.service', 'postgresql.service', 'postgresql@.service',
  'prometheus.service', 'prometheus-alertmanager.service', 'prometheus-node-exporter.service', 'e2scrub_reap.service', 'remote-fs.target',
];

/** users of a systemd test host besides root: `sudo` may manage system units (sudo -n), `plain` may not */
export const TEST_USERS = { sudo: { name: 'gl-deploy', uid: 4242 }, plain: { name: 'gl-nosudo', uid: 4243 } } as const;

/** Why a systemd test host cannot be made here, or undefined when it can. */
export function systemdHostUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `a systemd test host needs Linux; this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'a systemd test host needs root (namespaces, overlayfs, pivot_root)';
  if (!existsSync(SYSTEMD)) return `${SYSTEMD} is missing (Debian package systemd; .ci/run installs it)`;
  for (const t of TOOLS) if (!existsSync(t)) return `${t} is missing (Debian package util-linux)`;
  if (!readFileSync('/proc/filesystems', 'utf8').split('\n').some((l) => l.trim().split(/\s+/).pop() === 'overlay')) return 'the kernel has no overlayfs (CONFIG_OVERLAY_FS): a systemd test host needs its own root';
  if (!cgroup2Root()) return 'no cgroup2 hierarchy is mounted (a systemd test host gets a cgroup of its own)';
  return undefined;
}

/** where this machine's cgroup2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified in hybrid mode) */
function cgroup2Root(): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right || right.split(' ')[0] !== 'cgroup2') continue;
    const fields = left.split(' ');
    // the root of the hierarchy as mounted, not a bind of a sub-tree
    if (fields[3] === '/') return fields[4];
  }
  return undefined;
}

export interface SystemdHost {
  /** systemd's pid (PID 1 inside), as this machine sees it */
  pid: number;
  cgroup: string;
  /** runs a command inside the host (its mount, PID, UTS, IPC, cgroup and network namespaces) */
  exec(cmd: string[], opts?: { allowFail?: boolean }): string;
  /** power off (every process killed at once) and boot again on the same disk (the overlay's upper layer) */
  reboot(): Promise<void>;
  /** kills everything in the host and removes its cgroups (synchronous: also runs on process exit) */
  stop(): void;
}

export interface SystemdHostOptions {
  name: string;
  netns: string;
  /** the host's own directory, on the machine (holds the seed, the console log, the mount points) */
  dir: string;
  /** bound read-write at the same path inside (the fleet's directory: keys, the hosts' dirs) */
  shared: string;
  sshdConfig: string;
}

function run(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** the overlay's /etc: the test host's units, every unit of the machine it could pull in masked */
function writeSeed(o: SystemdHostOptions, seed: string): void {
  const units = join(seed, 'etc', 'systemd', 'system');
  const generators = join(seed, 'etc', 'systemd', 'system-generators');
  mkdirSync(units, { recursive: true });
  mkdirSync(generators, { recursive: true });
  const masked = new Set(ALSO_MASKED);
  for (const d of UNIT_DIRS) {
    if (!existsSync(d)) continue;
    for (const w of readdirSync(d).filter((n) => n.endsWith('.wants') || n.endsWith('.requires'))) {
      if (!statSync(join(d, w)).isDirectory()) continue;
      for (const u of readdirSync(join(d, w))) masked.add(u);
    }
  }
  for (const u of masked) symlinkSync('/dev/null', join(units, u));
  for (const d of GENERATOR_DIRS) if (existsSync(d)) for (const g of readdirSync(d)) if (!existsSync(join(generators, g))) symlinkSync('/dev/null', join(generators, g));
  writeFileSync(join(seed, 'etc', 'fstab'), '');
  writeFileSync(join(seed, 'etc', 'hostname'), `${o.name}\n`);
  // root's home is the host's directory and its shell /bin/sh, as on the other test hosts; two
  // users besides: one sudo lets manage system units without a password, one it does not
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').filter(Boolean).map((l) => (l.startsWith('root:') ? `root:x:0:0:root:${o.dir}:/bin/sh` : l));
  const group = readFileSync('/etc/group', 'utf8').split('\n').filter(Boolean);
  for (const u of Object.values(TEST_USERS)) {
    passwd.push(`${u.name}:x:${u.uid}:${u.uid}:greenlight test user:${join(o.dir, `home-${u.name}`)}:/bin/sh`);
    group.push(`${u.name}:x:${u.uid}:`);
    mkdirSync(join(o.dir, `home-${u.name}`), { recursive: true });
    chownSync(join(o.dir, `home-${u.name}`), u.uid, u.uid);
  }
  writeFileSync(join(seed, 'etc', 'passwd'), passwd.join('\n') + '\n');
  // no password for anyone (none of this machine's hashes copied); an entry each, or PAM's account
  // check takes the users for locked and sudo refuses them
  const shadow = passwd.map((l) => `${l.split(':')[0]}:*:19000:0:99999:7:::`);
  writeFileSync(join(seed, 'etc', 'shadow'), shadow.join('\n') + '\n', { mode: 0o640 });
  writeFileSync(join(seed, 'etc', 'group'), group.join('\n') + '\n');
  mkdirSync(join(seed, 'etc', 'sudoers.d'), { recursive: true });
  writeFileSync(join(seed, 'etc', 'sudoers.d', 'greenlight-test'), `${TEST_USERS.sudo.name} ALL=(root) NOPASSWD: /usr/bin/systemctl, /usr/bin/tee, /usr/bin/mv, /usr/bin/rm\n`, { mode: 0o440 });
  writeFileSync(join(seed, 'etc', 'hosts'), `127.0.0.1 localhost\n127.0.1.1 ${o.name}\n`);
  writeFileSync(
    join(units, 'greenlight-testhost.target'),
    ['[Unit]', 'Description=Greenlight test host', 'Wants=multi-user.target greenlight-testhost-sshd.service', 'After=multi-user.target greenlight-testhost-sshd.service', ''].join('\n'),
  );
  writeFileSync(
    join(units, 'greenlight-testhost-sshd.service'),
    [
      '[Unit]',
      'Description=sshd of the Greenlight test host',
      '[Service]',
      `ExecStart=/usr/sbin/sshd -D -e -f ${o.sshdConfig}`,
      'RuntimeDirectory=sshd',
      'RuntimeDirectoryPreserve=yes',
      `StandardOutput=append:${join(o.dir, 'sshd.log')}`,
      'StandardError=inherit',
      // sessions are children of sshd: restarting sshd must not kill them
      'KillMode=process',
      'Restart=always',
      '',
    ].join('\n'),
  );
}

const STAGE2 = String.raw`#!/bin/sh
# inside new mount, PID, UTS, IPC and cgroup namespaces, in the host's network namespace
set -eu
H=$1 SHARED=$2 NODEDIR=$3
R=$H/root
# $H/rw is the holder's tmpfs (see bootSystemdHost): the upper layer outlives a reboot
mkdir -p "$H/rw/upper" "$H/rw/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$H/rw/upper,workdir=$H/rw/work" "$R"
cp -a "$H/seed/." "$R/"
mount -t proc proc "$R/proc"
mount --bind "$R/proc/sys" "$R/proc/sys"
mount -o remount,bind,ro "$R/proc/sys"
mount -t sysfs -o ro sysfs "$R/sys"
mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
mount -t tmpfs -o mode=755 tmpfs "$R/dev"
for n in null zero full random urandom tty; do touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"; done
mkdir "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
touch "$R/dev/console"
mount --bind "$H/console.log" "$R/dev/console"
mount -t tmpfs -o mode=755 tmpfs "$R/run"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
mkdir -p "$R$SHARED" "$R$NODEDIR"
mount --bind "$SHARED" "$R$SHARED"
mount --bind "$NODEDIR" "$R$NODEDIR"
mount -o remount,bind,ro "$R$NODEDIR"
cd "$R"
mkdir -p .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot
exec env -i container=greenlight-test PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /lib/systemd/systemd --system --unit=greenlight-testhost.target --show-status=no
`;

/** Boots a systemd host in the network namespace; resolves once its systemd is up and sshd started. */
export async function bootSystemdHost(o: SystemdHostOptions): Promise<SystemdHost> {
  const why = systemdHostUnavailable();
  if (why) throw new Error(why);
  const cgroup = join(cgroup2Root()!, o.netns);
  const rw = join(o.dir, 'rw');
  for (const d of ['rw', 'root', 'seed']) mkdirSync(join(o.dir, d), { recursive: true });
  writeFileSync(join(o.dir, 'console.log'), '');
  writeSeed(o, join(o.dir, 'seed'));
  writeFileSync(join(o.dir, 'stage2.sh'), STAGE2, { mode: 0o755 });
  // The holder: a process of its own mount namespace that mounts the tmpfs of the overlay's upper
  // and work dirs and keeps it, so a reboot (everything of the host killed) keeps the host's disk.
  // Every boot starts from a copy of its namespace, which shares that tmpfs.
  const holder = spawn('setpriv', ['--pdeathsig', 'KILL', 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o mode=755 tmpfs '${rw}' && echo ready && exec sleep infinity`], { stdio: ['ignore', 'pipe', 'pipe'] });
  holder.unref();
  const held = await new Promise<boolean>((resolve) => {
    holder.stdout!.once('data', () => resolve(true));
    holder.once('exit', () => resolve(false));
  });
  if (!held) throw new Error(`the systemd test host ${o.name}: cannot mount its tmpfs at ${rw}`);
  let launcher: ChildProcess | undefined;
  let stopped = false;
  const host: SystemdHost = {
    pid: 0,
    cgroup,
    exec(cmd, opts = {}) {
      return run('nsenter', ['-t', String(host.pid), '-m', '-u', '-i', '-n', '-p', '-C', '--', ...cmd], opts);
    },
    async reboot() {
      // power off: every process of the host at once, nothing shut down in order
      killCgroup(cgroup);
      launcher?.kill('SIGKILL');
      host.pid = 0;
      await boot();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      killCgroup(cgroup);
      launcher?.kill('SIGKILL');
      holder.kill('SIGKILL');
    },
  };
  const boot = async () => {
    mkdirSync(cgroup, { recursive: true });
    // the launcher joins the host's cgroup (ip netns exec remounts /sys, so before it), then enters
    // the namespaces; --kill-child and the parent-death signal take the host down with this process
    const script = `echo $$ > '${cgroup}/cgroup.procs' && exec nsenter -t ${holder.pid} -m -- ip netns exec '${o.netns}' unshare --kill-child --cgroup --pid --fork --mount --uts --ipc --propagation private sh '${join(o.dir, 'stage2.sh')}' '${o.dir}' '${o.shared}' '${dirname(process.execPath)}'`;
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', 'sh', '-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    launcher = child;
    let err = '';
    child.stderr!.on('data', (d: Buffer) => void (err.length < 10_000 && (err += d.toString())));
    child.unref();
    // systemd is the only child of unshare, which the launcher became
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the systemd test host ${o.name} did not boot: ${err.trim() || `launcher exited ${child.exitCode}`}; console: ${tail(join(o.dir, 'console.log'))}`);
      if (!host.pid && child.pid) {
        const kids = readFileSafe(`/proc/${child.pid}/task/${child.pid}/children`).trim();
        if (kids && readFileSafe(`/proc/${kids}/comm`).trim() === 'systemd') host.pid = Number(kids);
      }
      if (host.pid) {
        const state = host.exec(['sh', '-c', 'systemctl is-system-running || true'], { allowFail: true }).trim();
        if (state === 'running' || state === 'degraded') return;
      }
      if (Date.now() > deadline) throw new Error(`the systemd test host ${o.name} did not reach running within 30 s; console: ${tail(join(o.dir, 'console.log'))}`);
      await delay(100);
    }
  };
  try {
    await boot();
    return host;
  } catch (e) {
    host.stop();
    throw e;
  }
}

function readFileSafe(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

function tail(file: string): string {
  return readFileSafe(file).split('\n').slice(-15).join('\n');
}

/** every process in the cgroup killed at once, then its cgroups removed (deepest first) */
function killCgroup(cgroup: string): void {
  if (!existsSync(cgroup)) return;
  try {
    writeFileSync(join(cgroup, 'cgroup.kill'), '1');
  } catch {
    // before Linux 5.14: each process by hand
    for (const p of procsUnder(cgroup)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  const until = Date.now() + 5000;
  while (procsUnder(cgroup).length > 0 && Date.now() < until) execFileSync('sleep', ['0.02']);
  for (const d of dirsDeepestFirst(cgroup)) {
    try {
      rmdirSync(d);
    } catch {
      // still busy: removeStaleSystemdHosts() gets it next time
    }
  }
}

function procsUnder(cgroup: string): number[] {
  return dirsDeepestFirst(cgroup).flatMap((d) => readFileSafe(join(d, 'cgroup.procs')).split('\n').filter(Boolean).map(Number));
}

function dirsDeepestFirst(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const subs = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => dirsDeepestFirst(join(dir, e.name)));
  return [...subs, dir];
}

/** removes the cgroups (and so kills the processes) of systemd hosts whose test process is gone */
export function removeStaleSystemdHosts(prefix: string, alive: (pid: number) => boolean): void {
  const root = cgroup2Root();
  if (!root || !existsSync(root)) return;
  for (const name of readdirSync(root).filter((n) => n.startsWith(`${prefix}-`))) {
    const pid = Number(name.split('-')[1]);
    if (pid > 0 && alive(pid)) continue;
    killCgroup(join(root, name));
  }
}
