// What the ssh target does on one host, over that host's one connection: Greenlight's directory,
// artifacts (uploaded once per digest, atomically), logs, and which runner keeps its instances
// alive (./runners: systemd or Greenlight's supervisor). Layout on the host:
//   <dir>/bin/supervisor-<digest>.sh  shipped by Greenlight (./supervisor.sh)
//   <dir>/releases/<digest>/     one unpacked artifact per content digest
//   <dir>/instances/<id>/        run.sh, log, supervisor.pid, child.pid, armed
//   <dir>/events.log             one line per supervisor event, followed by the controller
//   /etc/systemd/system/greenlight-<id>.service   on hosts where instances run under systemd
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { GreenlightError } from '../../errors/errors.ts';
import { HostConnection, shq } from './connection.ts';
import type { SshHostConfig, SshTargetConfig } from './config.ts';
import { chooseSupervisor, runnerFor, type SupervisorChoice, type SupervisorSetting } from './runners/detect.ts';
import type { InstanceRunner, SupervisorKind } from './runners/runner.ts';

const SUPERVISOR = readFileSync(new URL('./supervisor.sh', import.meta.url), 'utf8');
const SUPERVISOR_DIGEST = createHash('sha256').update(SUPERVISOR).digest('hex').slice(0, 16);

export interface SupervisorLine {
  at: number;
  id: string;
  kind: 'started' | 'exited' | 'crashed' | 'stopped' | 'hello';
  args: string[];
}

export function parseSupervisorLine(line: string): SupervisorLine | undefined {
  const [at, id, kind, ...args] = line.trim().split(' ');
  if (!at || !id || !kind || !/^\d+$/.test(at)) return undefined;
  if (!['started', 'exited', 'crashed', 'stopped', 'hello'].includes(kind)) return undefined;
  return { at: Number(at), id, kind: kind as SupervisorLine['kind'], args };
}

/** the artifact as a tar stream, made once per artifact and digest */
export function packArtifact(dir: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // fixed order, owner and times: the same tree packs to the same bytes
    execFile('tar', ['-C', dir, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', '-', '.'], { encoding: 'buffer', maxBuffer: 2 * 1024 * 1024 * 1024 }, (err, stdout) =>
      err ? reject(new GreenlightError('ARTIFACT_MISSING', `cannot pack the artifact ${dir}: ${err.message}`, { hint: 'check the release artifact directory is readable' })) : resolve(stdout),
    );
  });
}

export class RemoteHost {
  readonly conn: HostConnection;
  readonly host: SshHostConfig;
  readonly dir: string;
  private prepared: Promise<void> | undefined;
  private readonly uploads = new Map<string, Promise<{ uploaded: boolean; bytes: number; ms: number }>>();
  readonly requested: SupervisorSetting;
  private choice: Promise<SupervisorChoice> | undefined;
  private readonly runners = new Map<SupervisorKind, InstanceRunner>();

  constructor(host: SshHostConfig, config: SshTargetConfig, conn: HostConnection) {
    this.host = host;
    this.conn = conn;
    this.dir = host.dir ?? config.dir;
    this.requested = host.supervisor ?? config.supervisor;
  }

  path(...parts: string[]): string {
    return posix.join(this.dir, ...parts);
  }

  releaseDir(digest: string): string {
    return this.path('releases', digest.replace(/^sha256:/, ''));
  }

  instanceDir(id: string): string {
    return this.path('instances', id);
  }

  get eventsFile(): string {
    return this.path('events.log');
  }

  get supervisorPath(): string {
    return this.path('bin', `supervisor-${SUPERVISOR_DIGEST}.sh`);
  }

  /** Greenlight's directory and the supervisor script, once per connection's life */
  prepare(): Promise<void> {
    this.prepared ??= (async () => {
      const q = shq;
      await this.conn.exec(
        `mkdir -p ${q(this.path('bin'))} ${q(this.path('releases'))} ${q(this.path('instances'))} && touch ${q(this.eventsFile)} && ` +
          `{ [ -f ${q(this.supervisorPath)} ] || { cat > ${q(this.supervisorPath + '.tmp')} && mv ${q(this.supervisorPath + '.tmp')} ${q(this.supervisorPath)}; }; }`,
        { stdin: SUPERVISOR, timeoutMs: 15_000 },
      );
    })().catch((err: unknown) => {
      this.prepared = undefined;
      throw err;
    });
    return this.prepared;
  }

  /** ms since epoch on the host's clock */
  async clock(): Promise<number> {
    const r = await this.conn.exec('date +%s%3N', { timeoutMs: 5000 });
    return Number(r.stdout.trim());
  }

  async freeBytes(): Promise<number> {
    const r = await this.conn.exec(`df -Pk ${shq(this.dir)} | tail -n 1`, { timeoutMs: 10_000 });
    const available = Number(r.stdout.trim().split(/\s+/)[3]);
    if (!Number.isFinite(available)) throw new GreenlightError('HOST_COMMAND_FAILED', `host ${this.host.name}: cannot read the free space of ${this.dir} (df said "${r.stdout.trim()}")`, { hint: `check that ${this.dir} exists on ${this.host.name}` });
    return available * 1024;
  }

  /**
   * Puts the artifact on the host under its digest: skipped when already there; otherwise the free
   * space is checked, the tar is written under a temporary name, its sha256 verified on the host,
   * unpacked into a temporary directory and renamed into place. A dropped connection leaves only
   * temporary names, which the next upload removes.
   */
  ensureArtifact(digest: string, pack: () => Promise<Buffer>, minFreeBytes: number): Promise<{ uploaded: boolean; bytes: number; ms: number }> {
    const key = digest;
    const pending = this.uploads.get(key);
    if (pending) return pending;
    const p = this.upload(digest, pack, minFreeBytes).finally(() => this.uploads.delete(key));
    this.uploads.set(key, p);
    return p;
  }

  private async upload(digest: string, pack: () => Promise<Buffer>, minFreeBytes: number): Promise<{ uploaded: boolean; bytes: number; ms: number }> {
    await this.prepare();
    const dest = this.releaseDir(digest);
    const q = shq;
    // one round trip: present? else remove stale temporaries of an upload cut off earlier (an hour
    // old: not one still running) and report the free space
    const first = await this.conn.exec(
      `if [ -d ${q(dest)} ]; then touch ${q(dest)}; echo present; else ` +
        `find ${q(this.path('releases'))} -maxdepth 1 \\( -name '.upload-*' -o -name '.unpack-*' \\) -mmin +60 -exec rm -rf {} + 2>/dev/null; df -Pk ${q(this.dir)} | tail -n 1; fi`,
      { timeoutMs: 30_000 },
    );
    if (first.stdout.trim() === 'present') return { uploaded: false, bytes: 0, ms: 0 };
    const tar = await pack();
    const available = Number(first.stdout.trim().split(/\s+/)[3]);
    if (!Number.isFinite(available)) throw new GreenlightError('HOST_COMMAND_FAILED', `host ${this.host.name}: cannot read the free space of ${this.dir} (df said "${first.stdout.trim()}")`, { hint: `check that ${this.dir} exists on ${this.host.name}` });
    const free = available * 1024;
    // the tar and the unpacked tree are both on disk for a moment
    const needed = tar.length * 2 + minFreeBytes;
    if (free < needed) {
      throw new GreenlightError('DISK_FULL', `host ${this.host.name} has ${mib(free)} MiB free in ${this.dir}; the release ${digest.slice(0, 19)} needs ${mib(needed)} MiB (twice its ${mib(tar.length)} MiB plus min_free_mb)`, {
        hint: `free space on ${this.host.name} (old releases under ${this.path('releases')}, logs), lower target.retention, or lower target.min_free_mb`,
        data: { host: this.host.name, freeBytes: free, neededBytes: needed },
      });
    }
    const sha = createHash('sha256').update(tar).digest('hex');
    const token = randomBytes(4).toString('hex');
    const tmpTar = this.path('releases', `.upload-${token}.tar`);
    const tmpDir = this.path('releases', `.unpack-${token}`);
    const started = Date.now();
    try {
      const written = await this.conn.exec(`cat > ${q(tmpTar)} && sha256sum ${q(tmpTar)}`, { stdin: tar, timeoutMs: 10 * 60_000 });
      const got = written.stdout.trim().split(/\s+/)[0];
      if (got !== sha) {
        throw new GreenlightError('HOST_COMMAND_FAILED', `host ${this.host.name}: the uploaded artifact's sha256 is ${got}, expected ${sha}; nothing was installed`, {
          retryable: true,
          hint: 'deploy again (the transfer was corrupted)',
          data: { host: this.host.name, expected: sha, got },
        });
      }
      await this.conn.exec(
        `mkdir ${q(tmpDir)} && tar -xf ${q(tmpTar)} -C ${q(tmpDir)} && rm -f ${q(tmpTar)} && { mv -T ${q(tmpDir)} ${q(dest)} 2>/dev/null || { [ -d ${q(dest)} ] && rm -rf ${q(tmpDir)}; }; }`,
        { timeoutMs: 10 * 60_000 },
      );
    } catch (err) {
      // best effort: the connection may be what failed
      await this.conn.exec(`rm -rf ${q(tmpTar)} ${q(tmpDir)}`, { timeoutMs: 5000, check: false }).catch(() => {});
      throw err;
    }
    return { uploaded: true, bytes: tar.length, ms: Date.now() - started };
  }

  /** Removes releases beyond the newest `keep` (by last use), never one in `inUse`. */
  async pruneReleases(keep: number, inUse: Set<string>): Promise<string[]> {
    const r = await this.conn.exec(`cd ${shq(this.path('releases'))} && ls -1t`, { timeoutMs: 10_000 });
    const dirs = r.stdout.split('\n').filter((n) => /^[0-9a-f]{64}$/.test(n));
    const used = new Set([...inUse].map((d) => d.replace(/^sha256:/, '')));
    const doomed = dirs.filter((d) => !used.has(d)).slice(Math.max(0, keep - used.size));
    if (doomed.length === 0) return [];
    await this.conn.exec(`cd ${shq(this.path('releases'))} && rm -rf ${doomed.map(shq).join(' ')}`, { timeoutMs: 60_000 });
    return doomed.map((d) => `sha256:${d}`);
  }

  async releases(): Promise<string[]> {
    const r = await this.conn.exec(`ls -1 ${shq(this.path('releases'))} 2>/dev/null || true`, { timeoutMs: 10_000 });
    return r.stdout.split('\n').filter((n) => /^[0-9a-f]{64}$/.test(n)).map((d) => `sha256:${d}`);
  }

  /** instances whose supervisor is alive here, with the release digest run.sh changes into */
  async running(): Promise<{ id: string; digest: string }[]> {
    const script = String.raw`cd ${shq(this.dir)} 2>/dev/null || exit 0; for d in instances/*/; do s=$(cat "$d/supervisor.pid" 2>/dev/null) && kill -0 "$s" 2>/dev/null && echo "$(basename "$d") $(sed -n 's#^cd .*/releases/\([0-9a-f]\{64\}\).*#\1#p' "$d/run.sh" 2>/dev/null)"; done; true`;
    const r = await this.conn.exec(script, { timeoutMs: 10_000 });
    return r.stdout
      .split('\n')
      .map((l) => l.trim().split(' '))
      .filter((p): p is [string, string] => p.length === 2 && /^[0-9a-f]{64}$/.test(p[1]!))
      .map(([id, d]) => ({ id, digest: `sha256:${d}` }));
  }

  /** A started instance is armed once ready: from then on its supervisor restarts it after a crash. */
  async arm(id: string): Promise<void> {
    await this.conn.exec(`touch ${shq(this.instanceDir(id) + '/armed')}`, { timeoutMs: 10_000 });
  }

  /** systemd or Greenlight's supervisor, chosen once (runners/detect.ts) */
  supervisor(): Promise<SupervisorChoice> {
    this.choice ??= chooseSupervisor(this, this.requested).catch((err: unknown) => {
      this.choice = undefined;
      throw err;
    });
    return this.choice;
  }

  /** the runner of a kind (an adopted instance keeps the one it was started with) */
  runner(kind: SupervisorKind): InstanceRunner {
    let r = this.runners.get(kind);
    if (!r) {
      r = runnerFor(this, kind);
      this.runners.set(kind, r);
    }
    return r;
  }

  async killChild(childPid: number): Promise<void> {
    if (childPid > 0) await this.conn.exec(`kill -KILL -${childPid} 2>/dev/null || kill -KILL ${childPid} 2>/dev/null; true`, { timeoutMs: 10_000, check: false });
  }

  async logTail(id: string, lines = 20): Promise<string[]> {
    const r = await this.conn.exec(`tail -n ${lines} ${shq(this.instanceDir(id) + '/log')} 2>/dev/null || true`, { timeoutMs: 10_000, check: false });
    return r.stdout.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  }
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
