// Test fleet: real OpenSSH servers, each in its own network namespace with its own address, wired
// to a bridge in the root namespace. Guarded so that no packet can leave the machine:
// - the root namespace gets an `unreachable` route for the whole /24, so an address of a host that
//   is gone (or was never there) fails locally instead of following the default route; live hosts
//   are reached through a more specific /32 route via the bridge;
// - the namespaces have no default route, only their own /24 on the bridge;
// - connections to a host are closed (`ss -K`) before its link is removed.
// The hosts' SSH sessions do not depend on this machine's dotfiles: each namespace gets its own
// /etc/passwd (`ip netns exec` bind-mounts /etc/netns/<ns>/* over /etc/ for sshd and everything
// it starts), in which root's home is the host's directory and its shell /bin/sh. Bash reads
// ~/.bashrc even for `ssh host command` when it sees it runs under sshd, so with root's real entry
// every command ran root's ~/.bashrc (here: `pyenv init`, whose rehash lock, left stale by a killed
// session, hung every command on every host). dash reads no startup file for `sh -c`.
// A host with `systemd: true` really runs systemd, in namespaces and on a root of its own (see
// ./systemd-host.ts: booting systemd on this machine's shared root is destructive); its sshd is a
// unit of that systemd, so SSH sessions and fleet.exec() land inside it.
// Needs root and iproute2; `createTestFleet` returns { skip } with the reason otherwise, so a test
// is counted as skipped, never passed. Everything is torn down on close() and on process exit.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { bootSystemdHost, removeStaleSystemdHosts, systemdHostUnavailable, type SystemdHost } from './systemd-host.ts';

const SSHD = '/usr/sbin/sshd';
const SSH_KEYGEN = '/usr/bin/ssh-keygen';
/** namespaces, links and bridges of the fleets are named with this, so a stale one can be found */
export const FLEET_PREFIX = 'gl12';

export interface TestHostSpec {
  name: string;
  labels?: Record<string, string>;
  /** the host runs systemd (PID 1 of its own namespaces, own root: ./systemd-host.ts), sshd as its unit */
  systemd?: boolean;
}

export interface TestHost {
  name: string;
  /** the host's address on the fleet's /24 */
  address: string;
  netns: string;
  /** the root-namespace end of the host's veth pair */
  link: string;
  labels: Record<string, string>;
  /** the host's own directory (namespaces share the filesystem, so each host gets one) */
  dir: string;
  /** sha256 fingerprint of the host key, as OpenSSH prints it (SHA256:...) */
  fingerprint: string;
  /** the host key as a known_hosts key ("ssh-ed25519 AAAA...") */
  publicKey: string;
  sshd?: ChildProcess;
  /** set on a host that runs systemd: its sshd is a unit of that systemd */
  systemd?: SystemdHost;
  state: 'up' | 'cut' | 'silent' | 'dead';
  /** every process of its namespace is SIGSTOPped (freeze); thaw() resumes them */
  frozen?: boolean;
}

export interface TestFleet {
  /** e.g. 10.213.7: the hosts are <subnet>.10, .11, ... */
  subnet: string;
  /** the bridge's address: what the hosts see the controller as */
  controllerAddress: string;
  dir: string;
  hosts: TestHost[];
  /** private key the hosts accept for root */
  clientKey: string;
  /** known_hosts with every host's key */
  knownHosts: string;
  host(name: string): TestHost;
  /** runs a command on a host as its SSH sessions would (network and mount namespace), returns stdout */
  exec(name: string, cmd: string[]): string;
  /** cuts the host's link: connections closed first, then the link goes down and its route away */
  cutLink(name: string): Promise<void>;
  /** brings a cut (or silently lost) link back */
  restoreLink(name: string): Promise<void>;
  /**
   * The link is lost and nothing says so (a cable pulled at the host, a dead hypervisor): the
   * host's own end goes down inside its namespace; no `ss -K`, the root namespace's route stays,
   * and its neighbour entry is pinned so no failed ARP turns the loss into a local EHOSTUNREACH.
   * The router's packets vanish: no RST, no ICMP. restoreLink() brings it back.
   */
  loseLinkSilently(name: string): Promise<void>;
  /** the host hangs: every process in its namespace is SIGSTOPped (the kernel still accepts connections, nothing answers) */
  freeze(name: string): void;
  /** resumes a frozen host's processes */
  thaw(name: string): void;
  /** the host dies: every process in its namespace is killed, then its link is cut */
  kill(name: string): Promise<void>;
  /** a systemd host loses power and boots again on the same disk (what its systemd enabled starts again) */
  reboot(name: string): Promise<void>;
  /**
   * The host's clock reads offsetMs off this machine's (0: back to true time). The namespaces
   * share the kernel's clock, so this puts a `date` wrapper first in the PATH of the host's SSH
   * sessions (~/.ssh/environment): what Greenlight reads of a host's clock is `date` over SSH.
   */
  skewClock(name: string, offsetMs: number): void;
  close(): Promise<void>;
}

export type FleetResult = { fleet: TestFleet; skip?: undefined } | { fleet?: undefined; skip: string };

function run(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input: opts.input ?? '' });
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Why a fleet cannot be created here, or undefined when it can. */
export function fleetUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux; this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root (the test harness runs `ip netns add`)';
  if (!existsSync(SSHD)) return `${SSHD} is missing (Debian package openssh-server; .ci/run installs it)`;
  if (!existsSync(SSH_KEYGEN)) return `${SSH_KEYGEN} is missing (Debian package openssh-client)`;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return '`ip netns` is not available (Debian package iproute2; .ci/run installs it)';
  }
  return undefined;
}

let fleetCounter = 0;
const live = new Set<() => void>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // tear down even when a test fails or the runner is interrupted
  process.on('exit', () => {
    for (const teardown of [...live]) teardown();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const teardown of [...live]) teardown();
      process.exit(130);
    });
  }
}

/** Removes namespaces, links and routes left by a fleet whose process is gone (a killed test run). */
function removeStale(): void {
  const names = run('ip', ['netns', 'list'], { allowFail: true })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${FLEET_PREFIX}-`));
  for (const ns of names) {
    const pid = Number(ns.split('-')[1]);
    if (pid > 0 && pidAlive(pid)) continue;
    for (const p of run('ip', ['netns', 'pids', ns], { allowFail: true }).split('\n').filter(Boolean)) killPid(Number(p));
    run('ip', ['netns', 'del', ns], { allowFail: true });
  }
  for (const d of existsSync(NETNS_ETC) ? readdirSync(NETNS_ETC).filter((n) => n.startsWith(`${FLEET_PREFIX}-`)) : []) {
    const pid = Number(d.split('-')[1]);
    if (!(pid > 0 && pidAlive(pid))) rmSync(join(NETNS_ETC, d), { recursive: true, force: true });
  }
  removeStaleSystemdHosts(FLEET_PREFIX, pidAlive);
  for (const line of run('ip', ['-o', 'link', 'show'], { allowFail: true }).split('\n')) {
    const m = /^\d+: (gl12[bv](\d+)x[^:@]*)/.exec(line);
    if (m && !pidAlive(Number(m[2]))) run('ip', ['link', 'del', m[1]!], { allowFail: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killPid(pid: number): void {
  signalPid(pid, 'SIGKILL');
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** a free 10.213.X.0/24: X derived from the pid, moved on when taken */
function pickSubnet(): string {
  const routes = run('ip', ['route', 'show', 'table', 'all'], { allowFail: true });
  for (let k = 0; k < 200; k++) {
    const x = ((process.pid + k) % 200) + 20;
    const subnet = `10.213.${x}`;
    if (!routes.includes(`${subnet}.`)) return subnet;
  }
  throw new Error('no free 10.213.X.0/24 for a test fleet');
}

export async function createTestFleet(specs: TestHostSpec[], opts: { sshdLogLevel?: string } = {}): Promise<FleetResult> {
  const why = fleetUnavailable() ?? (specs.some((s) => s.systemd) ? systemdHostUnavailable() : undefined);
  if (why) return { skip: why };
  if (specs.length > 36) throw new Error('a test fleet has at most 36 hosts');
  installExitHook();
  removeStale();
  const pid = process.pid;
  const subnet = pickSubnet();
  // interface names are at most 15 characters: prefix, pid, one base-36 digit per fleet and host
  const tag = `${pid}x${(fleetCounter++ % 36).toString(36)}`;
  const bridge = `${FLEET_PREFIX}b${tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'gl12-fleet-'));
  const hosts: TestHost[] = [];
  const controllerAddress = `${subnet}.1`;
  let closed = false;

  const teardownSync = () => {
    if (closed) return;
    closed = true;
    live.delete(teardownSync);
    // connections first, so nothing is left half-open towards a link that disappears
    run('ss', ['-K', 'dst', `${subnet}.0/24`], { allowFail: true });
    for (const h of hosts) {
      // SIGKILL ends stopped (frozen) processes too
      h.sshd?.kill('SIGKILL');
      h.sshd?.stderr?.destroy();
      h.systemd?.stop();
      for (const p of run('ip', ['netns', 'pids', h.netns], { allowFail: true }).split('\n').filter(Boolean)) killPid(Number(p));
      run('ip', ['link', 'del', h.link], { allowFail: true });
      run('ip', ['netns', 'del', h.netns], { allowFail: true });
      rmSync(join(NETNS_ETC, h.netns), { recursive: true, force: true });
    }
    run('ip', ['link', 'del', bridge], { allowFail: true });
    run('ip', ['route', 'del', 'unreachable', `${subnet}.0/24`], { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  };
  live.add(teardownSync);

  try {
    // the guard goes in before anything can route to the range
    run('ip', ['route', 'add', 'unreachable', `${subnet}.0/24`]);
    run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    run('ip', ['addr', 'add', `${controllerAddress}/32`, 'dev', bridge]);
    run('ip', ['link', 'set', bridge, 'up']);

    const clientKey = join(dir, 'client_ed25519');
    run(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'greenlight-test-client', '-f', clientKey]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`, 'utf8'), { mode: 0o600 });
    if (specs.some((s) => s.systemd)) {
      // a systemd host has users besides root (systemd-host.ts TEST_USERS): sshd reads their
      // authorized keys as them, and their directories are in here
      chmodSync(dir, 0o755);
      chmodSync(join(dir, 'authorized_keys'), 0o644);
    }
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

    const knownHostsLines: string[] = [];
    specs.forEach((spec, i) => {
      const address = `${subnet}.${10 + i}`;
      const netns = `${FLEET_PREFIX}-${pid}-${subnet.split('.')[2]}-${i}`;
      const link = `${FLEET_PREFIX}v${tag}${i.toString(36)}`;
      const hostDir = join(dir, 'hosts', spec.name);
      mkdirSync(hostDir, { recursive: true });
      run('ip', ['netns', 'add', netns]);
      writeHostPasswd(netns, hostDir);
      const host: TestHost = { name: spec.name, address, netns, link, labels: spec.labels ?? {}, dir: hostDir, fingerprint: '', publicKey: '', state: 'up' };
      hosts.push(host);
      run('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      run('ip', ['link', 'set', link, 'master', bridge, 'up']);
      const inNs = (...args: string[]) => run('ip', ['netns', 'exec', netns, ...args]);
      inNs('ip', 'link', 'set', 'lo', 'up');
      inNs('ip', 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      inNs('ip', 'link', 'set', 'eth0', 'up');
      // no default route inside: the namespace reaches its /24 and nothing else
      run('ip', ['route', 'add', `${address}/32`, 'dev', bridge, 'src', controllerAddress]);

      const hostKey = join(hostDir, 'ssh_host_ed25519_key');
      run(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', spec.name, '-f', hostKey]);
      host.publicKey = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
      host.fingerprint = run(SSH_KEYGEN, ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`]).split(' ')[1]!;
      knownHostsLines.push(`${address} ${host.publicKey}`);
      const config = [
        'Port 22',
        `ListenAddress ${address}`,
        `HostKey ${hostKey}`,
        `PidFile ${join(hostDir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        // ~/.ssh/environment (in the host's own home): how skewClock() puts its `date` first
        'PermitUserEnvironment PATH',
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        // the temp dir is not root-only all the way up
        'StrictModes no',
        'MaxSessions 64',
        'MaxStartups 64:30:128',
        'Subsystem sftp internal-sftp',
        `LogLevel ${opts.sshdLogLevel ?? 'ERROR'}`,
        '',
      ].join('\n');
      writeFileSync(join(hostDir, 'sshd_config'), config);
    });
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, knownHostsLines.join('\n') + '\n');

    await Promise.all(
      hosts.map(async (h, i) => {
        if (!specs[i]!.systemd) return startSshd(h);
        h.systemd = await bootSystemdHost({ name: h.name, netns: h.netns, dir: h.dir, shared: dir, sshdConfig: join(h.dir, 'sshd_config') });
      }),
    );
    await Promise.all(hosts.map((h) => waitPort(h.address, 22, 10_000)));

    const fleet: TestFleet = {
      subnet,
      controllerAddress,
      dir,
      hosts,
      clientKey,
      knownHosts,
      host(name) {
        const h = hosts.find((x) => x.name === name);
        if (!h) throw new Error(`no test host "${name}"`);
        return h;
      },
      exec(name, cmd) {
        // in sshd's own mount namespace (ip netns exec makes a new one per call), so a mount made
        // there is seen the way an SSH session sees it
        const h = fleet.host(name);
        if (h.systemd) return h.systemd.exec(cmd);
        if (h.sshd?.pid && h.sshd.exitCode === null) return run('nsenter', ['-t', String(h.sshd.pid), '-m', '-n', '--', ...cmd]);
        return run('ip', ['netns', 'exec', h.netns, ...cmd]);
      },
      async cutLink(name) {
        const h = fleet.host(name);
        if (h.state !== 'up') return;
        run('ss', ['-K', 'dst', h.address], { allowFail: true });
        run('ip', ['route', 'del', `${h.address}/32`], { allowFail: true });
        run('ip', ['link', 'set', h.link, 'down'], { allowFail: true });
        h.state = 'cut';
      },
      async restoreLink(name) {
        const h = fleet.host(name);
        if (h.state === 'silent') {
          run('ip', ['netns', 'exec', h.netns, 'ip', 'link', 'set', 'eth0', 'up']);
          run('ip', ['neigh', 'del', h.address, 'dev', bridge], { allowFail: true });
          h.state = 'up';
          return;
        }
        if (h.state !== 'cut') return;
        run('ip', ['link', 'set', h.link, 'up']);
        run('ip', ['route', 'add', `${h.address}/32`, 'dev', bridge, 'src', controllerAddress]);
        h.state = 'up';
      },
      async loseLinkSilently(name) {
        const h = fleet.host(name);
        if (h.state !== 'up') return;
        const mac = run('ip', ['netns', 'exec', h.netns, 'cat', '/sys/class/net/eth0/address']).trim();
        // pinned first: with the entry left to ARP, the root namespace would find the host gone
        // after ~3 s of unanswered probes and fail new connections with EHOSTUNREACH at once
        run('ip', ['neigh', 'replace', h.address, 'lladdr', mac, 'dev', bridge, 'nud', 'permanent']);
        run('ip', ['netns', 'exec', h.netns, 'ip', 'link', 'set', 'eth0', 'down']);
        h.state = 'silent';
      },
      freeze(name) {
        const h = fleet.host(name);
        for (const p of run('ip', ['netns', 'pids', h.netns], { allowFail: true }).split('\n').filter(Boolean)) signalPid(Number(p), 'SIGSTOP');
        h.frozen = true;
      },
      thaw(name) {
        const h = fleet.host(name);
        for (const p of run('ip', ['netns', 'pids', h.netns], { allowFail: true }).split('\n').filter(Boolean)) signalPid(Number(p), 'SIGCONT');
        h.frozen = false;
      },
      async kill(name) {
        const h = fleet.host(name);
        for (const p of run('ip', ['netns', 'pids', h.netns], { allowFail: true }).split('\n').filter(Boolean)) killPid(Number(p));
        if (h.state === 'silent') await fleet.restoreLink(name);
        await fleet.cutLink(name);
        h.state = 'dead';
      },
      async reboot(name) {
        const h = fleet.host(name);
        if (!h.systemd) throw new Error(`test host ${name} does not run systemd: only those can reboot`);
        await h.systemd.reboot();
      },
      skewClock(name, offsetMs) {
        const h = fleet.host(name);
        const bin = join(h.dir, 'bin');
        mkdirSync(join(h.dir, '.ssh'), { recursive: true });
        if (offsetMs === 0) {
          rmSync(join(h.dir, '.ssh', 'environment'), { force: true });
          return;
        }
        mkdirSync(bin, { recursive: true });
        // whole seconds shifted, milliseconds kept: `date +%s%3N` reads offsetMs off (±1 ms)
        const s = Math.trunc(offsetMs / 1000);
        writeFileSync(join(bin, 'date'), `#!/bin/sh\nexec /bin/date -d "@$(( $(/bin/date +%s) + (${s}) )).$(/bin/date +%N)" "$@"\n`, { mode: 0o755 });
        writeFileSync(join(h.dir, '.ssh', 'environment'), `PATH=${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n`);
      },
      async close() {
        teardownSync();
        await delay(0);
      },
    };
    return { fleet };
  } catch (err) {
    teardownSync();
    throw err;
  }
}

const NETNS_ETC = '/etc/netns';

/** the namespace's own /etc/passwd: root's home is the host's directory, its shell /bin/sh */
function writeHostPasswd(netns: string, hostDir: string): void {
  const dir = join(NETNS_ETC, netns);
  mkdirSync(dir, { recursive: true });
  const lines = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (l.startsWith('root:') ? `root:x:0:0:root:${hostDir}:/bin/sh` : l));
  writeFileSync(join(dir, 'passwd'), lines.join('\n') + '\n', { mode: 0o644 });
}

function startSshd(h: TestHost): void {
  // -D: stays in the foreground (a child of this process, killed on teardown); -e: log to stderr
  const child = spawn('ip', ['netns', 'exec', h.netns, SSHD, '-D', '-e', '-f', join(h.dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (err.length < 10_000) err += d.toString();
  });
  child.on('exit', (code) => {
    if (code && code !== 0 && h.state === 'up') writeFileSync(join(h.dir, 'sshd.err'), err);
    // a session child that outlived its sshd (orphaned mid-teardown) still holds this pipe: without
    // this, the test process waits on it and never exits
    child.stderr?.destroy();
  });
  child.unref();
  h.sshd = child;
}

async function waitPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port, timeout: 500 });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd on ${host}:${port} did not start within ${timeoutMs}ms`);
    await delay(50);
  }
}
