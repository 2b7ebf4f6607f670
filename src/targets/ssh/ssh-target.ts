// The `ssh` target: instances run on the environment's hosts, reached over SSH (one multiplexed
// connection per host, a bounded number of hosts worked on at once). Each instance is run by
// Greenlight's supervisor script on its host, which restarts it after a crash with back-off and
// stops it gracefully; how the supervisor itself is kept alive is the host's runner (./runners:
// a systemd unit where the host runs systemd, else setsid + nohup). The controller follows each
// host's supervisor event file and probes health over the network at the host's address, the
// same address the router forwards to.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../clock/clock.ts';
import { GreenlightError, describe } from '../../errors/errors.ts';
import { event, type DataBesides, type DataOf, type EventType, type NewEventOf } from '../../events/catalogue/index.ts';
import type { EventLog } from '../../events/log.ts';

/** what the SSH target records about hosts and artifacts (src/events/catalogue/host.ts) */
type HostEventType = 'host.key_accepted' | 'host.clock_skew' | 'host.unreachable' | 'host.reachable' | 'host.supervisor' | 'artifact.uploaded' | 'artifact.pruned';
import { digestDirectory } from '../../releases/digest.ts';
import type { Fleet, HostRotation } from '../../fleet/fleet.ts';
import { probeHealth } from '../health.ts';
import { RecordStore, type InstanceRecord } from '../local/records.ts';
import {
  heardInstanceEvent,
  instanceEvent,
  instanceSubject,
  matchesFilter,
  type InstanceEvent,
  type InstanceEventBase,
  type InstanceEventType,
  type InstanceFilter,
  type InstanceInfo,
  type InstanceSpec,
  type InstanceState,
  type StartOptions,
  type Target,
  type TargetDeps,
} from '../target.ts';
import { sshTargetConfigSchema, type SshTargetConfig, type SshTargetInput } from './config.ts';
import { HostConnection } from './connection.ts';
import { RemoteHost, packArtifact, parseSupervisorLine, type SupervisorLine } from './host.ts';
import { Limiter } from './limit.ts';
import { HostRotations } from './rotation.ts';
import type { InstanceRunner, SupervisorKind } from './runners/runner.ts';
import { STOP_SLACK_MS } from './runners/systemd.ts';

const ACTOR = 'target:ssh';
const DEFAULT_HEALTH_INTERVAL_MS = 200;
const LOG_TAIL_LINES = 20;
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

interface SshRecord extends InstanceRecord {
  host: string;
  digest: string;
  supervisorPid: number;
  /** how it is kept alive (absent in records of before systemd units: Greenlight's supervisor) */
  supervisor?: SupervisorKind;
}

interface Instance {
  id: string;
  spec: InstanceSpec;
  host: RemoteHost;
  runner: InstanceRunner;
  digest: string;
  port: number;
  state: InstanceState;
  startedAt: number;
  restarts: number;
  supervisorPid: number;
  childPid: number;
  /** set when the supervisor reports the process gone while it was starting */
  exit?: { code: string };
  /** woken by exit, stop or close */
  wake: AbortController;
  onStopped?: (line: SupervisorLine) => void;
  supervision: AbortController;
  /** the supervisor lines of this instance, handled in order */
  lines: Promise<void>;
}

interface Watcher {
  close(): void;
}

type ReadyResult = { ok: true } | { ok: false; reason: 'exited' | 'timeout' | 'aborted' };

export class SshTarget implements Target {
  readonly kind = 'ssh';
  private readonly config: SshTargetConfig;
  private readonly events: EventLog;
  private readonly clock: Clock;
  private readonly logger: TargetDeps['logger'];
  private readonly records: RecordStore;
  private readonly hosts = new Map<string, RemoteHost>();
  private readonly watchers = new Map<string, Promise<Watcher>>();
  private readonly instances = new Map<string, Instance>();
  private readonly listeners = new Set<(e: InstanceEvent) => void>();
  private readonly reservedPorts = new Set<number>();
  private readonly digests = new Map<string, Promise<string>>();
  private readonly limiter: Limiter;
  /** supervisor lines of instances not registered yet (see onSupervisorLine) */
  private readonly early = new Map<string, SupervisorLine[]>();
  private closed = false;
  /** hosts out of rotation: drained by a host change, or unreachable */
  private readonly rotations = new HostRotations((err, host) => this.logger?.warn({ err, host }, 'rotation listener threw'));

  /** config: raw or parsed `target:` of kind ssh */
  constructor(config: SshTargetInput, deps: TargetDeps) {
    const parsed = sshTargetConfigSchema.parse({ kind: 'ssh', ...config });
    // "~/.ssh/..." as in ssh_config
    const home = (p: string) => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : p);
    this.config = { ...parsed, known_hosts: home(parsed.known_hosts), auth: { ...parsed.auth, ...(parsed.auth.key_file ? { key_file: home(parsed.auth.key_file) } : {}) } };
    this.events = deps.events;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.records = new RecordStore(deps.stateDir, 'ssh-instances');
    this.limiter = new Limiter(this.config.concurrency);
    for (const h of this.config.hosts) {
      const conn = new HostConnection(h, this.config, {
        onKeyAccepted: (host, verdict) =>
          void this.record('host.key_accepted', `host/${host.name}`, { host: host.name, address: host.address, port: host.port, fingerprint: verdict.fingerprint, keyType: verdict.keyType, knownHosts: this.config.known_hosts }),
        onDropped: (host, reason) => this.hostLost(host.name, host.address, reason),
        onConnected: (host) => this.hostBack(host.name, host.address),
      });
      this.hosts.set(h.name, new RemoteHost(h, this.config, conn));
    }
  }

  hostNames(): string[] {
    return [...this.hosts.keys()];
  }

  /** the host's connection and directory, for inventory, changes and logs */
  remoteHost(name: string): RemoteHost {
    const h = this.hosts.get(name);
    if (!h) throw new GreenlightError('NOT_FOUND', `no host "${name}" in this ssh target`, { hint: `use one of: ${this.hostNames().join(', ')}` });
    return h;
  }

  /** the hosts, a command on one of them, what each holds: for inventory and host changes */
  fleet(): Fleet {
    return {
      hosts: () => this.config.hosts.map((h) => ({ name: h.name, address: h.address, labels: { ...h.labels } })),
      exec: async (name, command, opts = {}) => {
        const h = this.remoteHost(name);
        const r = await h.conn.exec(command, { check: false, timeoutMs: opts.timeoutMs ?? 30_000 });
        return { code: r.code, stdout: r.stdout, stderr: r.stderr };
      },
      releasesOn: (name) => this.remoteHost(name).releases(),
      running: (name) => this.remoteHost(name).running(),
      supervisor: async (name) => {
        const c = await this.remoteHost(name).supervisor();
        return { kind: c.kind, reason: c.reason };
      },
      rotation: (name) => this.rotation(name),
      drain: (name, reason) => {
        this.remoteHost(name);
        this.rotations.drain(name, reason);
      },
      restore: (name) => this.rotations.restore(name),
      onRotation: (listener) => this.rotations.onChange(listener),
    };
  }

  /** whether the host's instances may get traffic (see Fleet.rotation) */
  rotation(name: string): HostRotation {
    return this.rotations.of(name);
  }

  /**
   * The SSH connection to a host dropped: what runs there cannot be supervised nor reached, so its
   * instances leave rotation at once (an event, and the listeners re-route); the follower
   * reconnects (rewatch) and the host comes back when it answers again.
   */
  private hostLost(name: string, address: string, reason: string): void {
    if (this.closed) return;
    const instances = [...this.instances.values()].filter((i) => i.host.host.name === name).length;
    let fresh = false;
    this.rotations.lost(name, this.clock.now(), `host ${name} (${address}) cannot be reached over SSH: ${reason}`, () => {
      fresh = true;
      void this.record('host.unreachable', `host/${name}`, { host: name, address, reason, instances });
    });
    if (!fresh) return;
    // nothing else may be asking it: follow again, which reconnects when the host is back
    const h = this.hosts.get(name);
    if (h && instances > 0) void this.rewatch(h);
  }

  private hostBack(name: string, address: string): void {
    if (this.closed) return;
    this.rotations.back(name, this.clock.now(), (downMs) => void this.record('host.reachable', `host/${name}`, { host: name, address, downMs }));
  }

  onInstanceEvent(listener: (event: InstanceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  list(filter: InstanceFilter = {}): InstanceInfo[] {
    return [...this.instances.values()].filter((i) => i.state !== 'stopped' && matchesFilter(i.spec, filter)).map((i) => this.info(i));
  }

  async start(spec: InstanceSpec, count: number, opts: StartOptions = {}): Promise<InstanceInfo[]> {
    this.assertOpen();
    validateSpec(spec, count);
    opts.signal?.throwIfAborted();
    const placement = this.place(spec, count, opts.hosts);
    const digest = await this.digestOf(spec.artifactDir);
    // every host gets the artifact (once per digest) before anything starts
    await Promise.all([...new Set(placement)].map((h) => this.limiter.run(() => this.prepareHost(h, digest, spec.artifactDir))));
    const batch = new AbortController();
    const onAbort = () => batch.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const started: Instance[] = [];
    const progress = (inst: Instance) => {
      try {
        opts.onProgress?.(this.info(inst));
      } catch (err) {
        this.logger?.warn({ err }, 'onProgress listener threw');
      }
    };
    try {
      // launched on all hosts at once (bounded by concurrency): a fleet starts in the time of one host
      const launches = await Promise.allSettled(
        placement.map((host) =>
          this.limiter.run(async () => {
            if (batch.signal.aborted) return undefined;
            const inst = await this.launchNew(spec, host, digest);
            started.push(inst);
            progress(inst);
            return inst;
          }),
        ),
      );
      const launchFailure = launches.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (launchFailure) throw launchFailure.reason;
      const results = batch.signal.aborted
        ? []
        : await Promise.all(
            started.map(async (inst) => {
              const r = await this.waitReady(inst, batch.signal);
              if (!r.ok && r.reason !== 'aborted') batch.abort();
              return r;
            }),
          );
      if (opts.signal?.aborted) {
        await Promise.all(started.map((i) => this.stopInstance(i, 'start-aborted')));
        throw opts.signal.reason;
      }
      const failedAt = results.findIndex((r) => !r.ok && r.reason !== 'aborted');
      if (failedAt >= 0 || results.length < started.length) {
        const failed = started[failedAt];
        const error = failed ? await this.startError(failed, results[failedAt]!) : new GreenlightError('INTERNAL', 'the target was closed while instances were starting', { retryable: true, hint: 'start them again' });
        await this.failBatch(started, failed, results[failedAt]);
        for (const inst of started) progress(inst);
        throw error;
      }
      // armed: from now on the supervisor restarts a crashed instance
      await Promise.all(started.map((i) => i.host.arm(i.id)));
      const now = this.clock.now();
      for (const inst of started) inst.state = 'ready';
      for (const inst of started) {
        await this.emit('instance.ready', inst, { startupMs: now - inst.startedAt });
        progress(inst);
      }
      return started.map((i) => this.info(i));
    } catch (err) {
      const leftovers = started.filter((i) => i.state !== 'stopped' && i.state !== 'crashed');
      if (leftovers.length > 0) await Promise.all(leftovers.map((i) => this.stopInstance(i, 'start-failed')));
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  async stop(ids: string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.instances.get(id)).filter((i): i is Instance => i !== undefined).map((i) => this.stopInstance(i, 'requested')));
  }

  async adopt(filter: InstanceFilter = {}): Promise<InstanceInfo[]> {
    this.assertOpen();
    const { records } = this.records.readAll();
    const mine = (records as SshRecord[]).filter((r) => this.hosts.has(r.host) && !this.instances.has(r.id) && matchesFilter(r.spec, filter));
    const adopted = await Promise.all(mine.map((r) => this.adoptOne(r)));
    return adopted.filter((i): i is Instance => i !== undefined).map((i) => this.info(i));
  }

  async close(opts: { stopInstances?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    if (opts.stopInstances) await Promise.all([...this.instances.values()].map((i) => this.stopInstance(i, 'target-closed')));
    this.closed = true;
    for (const inst of this.instances.values()) {
      inst.supervision.abort();
      inst.wake.abort();
    }
    this.instances.clear();
    this.listeners.clear();
    for (const w of this.watchers.values()) void w.then((x) => x.close(), () => {});
    this.watchers.clear();
    for (const h of this.hosts.values()) h.conn.close();
  }

  // ---- hosts ---------------------------------------------------------------------------------

  /** which host each new instance goes to: the eligible host with the fewest of this service */
  private place(spec: InstanceSpec, count: number, only?: string[]): RemoteHost[] {
    const eligible = only ? only.map((n) => this.remoteHost(n)) : [...this.hosts.values()];
    if (eligible.length === 0) throw new GreenlightError('USAGE', 'no host to start instances on', { hint: 'name at least one host of the target' });
    const load = new Map(eligible.map((h) => [h.host.name, this.list({ service: spec.service, environment: spec.environment }).filter((i) => i.host === h.host.name).length]));
    const out: RemoteHost[] = [];
    for (let n = 0; n < count; n++) {
      const next = eligible.reduce((a, b) => (load.get(b.host.name)! < load.get(a.host.name)! ? b : a));
      load.set(next.host.name, load.get(next.host.name)! + 1);
      out.push(next);
    }
    return out;
  }

  private digestOf(dir: string): Promise<string> {
    let p = this.digests.get(dir);
    if (!p) {
      p = digestDirectory(dir).then((d) => d.digest);
      p.catch(() => this.digests.delete(dir));
      this.digests.set(dir, p);
    }
    return p;
  }

  /** connection, directory, event watcher and the artifact on one host */
  private async prepareHost(host: RemoteHost, digest: string, artifactDir: string): Promise<void> {
    await this.watch(host);
    await this.supervisorOf(host);
    const up = await host.ensureArtifact(digest, () => packArtifact(artifactDir), this.config.min_free_mb * 1024 * 1024);
    if (up.uploaded) {
      await this.record('artifact.uploaded', `host/${host.host.name}`, { host: host.host.name, digest, bytes: up.bytes, ms: up.ms });
      const inUse = new Set([digest, ...[...this.instances.values()].filter((i) => i.host === host).map((i) => i.digest)]);
      const pruned = await host.pruneReleases(this.config.retention, inUse).catch((err: unknown) => {
        this.logger?.warn({ err, host: host.host.name }, 'could not prune old releases');
        return [] as string[];
      });
      if (pruned.length > 0) await this.record('artifact.pruned', `host/${host.host.name}`, { host: host.host.name, digests: pruned, retention: this.config.retention });
    }
  }

  /** follows the host's supervisor event file; resolves once the follower is known to be reading */
  private watch(host: RemoteHost): Promise<Watcher> {
    const name = host.host.name;
    let w = this.watchers.get(name);
    if (w) return w;
    w = this.openWatcher(host);
    w.catch(() => this.watchers.delete(name));
    this.watchers.set(name, w);
    return w;
  }

  private async openWatcher(host: RemoteHost): Promise<Watcher> {
    await host.prepare();
    await this.checkClock(host);
    const token = randomBytes(6).toString('hex');
    let greeted!: () => void;
    const hello = new Promise<void>((r) => (greeted = r));
    const s = await host.conn.stream(`exec tail -n 0 -F ${shellQuote(host.eventsFile)} 2>/dev/null`, (line) => {
      const l = parseSupervisorLine(line);
      if (!l) return;
      if (l.kind === 'hello') {
        if (l.args[0] === token) greeted();
        return;
      }
      this.onSupervisorLine(host, l);
    });
    let stopped = false;
    void s.closed.then(() => {
      this.watchers.delete(host.host.name);
      // the connection dropped: follow again when it is back, and catch up with what was missed
      if (!stopped && !this.closed && [...this.instances.values()].some((i) => i.host === host)) void this.rewatch(host);
    });
    // tail may need a moment before it reads: say hello until it hears it
    for (let i = 0; i < 50; i++) {
      await host.conn.exec(`echo "$(date +%s%3N) - hello ${token}" >> ${shellQuote(host.eventsFile)}`, { timeoutMs: 5000 });
      const heard = await Promise.race([hello.then(() => true), this.clock.sleep(100).then(() => false)]);
      if (heard) break;
    }
    return {
      close: () => {
        stopped = true;
        s.close();
      },
    };
  }

  private readonly rewatching = new Set<string>();

  private async rewatch(host: RemoteHost): Promise<void> {
    const name = host.host.name;
    if (this.rewatching.has(name)) return;
    this.rewatching.add(name);
    try {
      for (let attempt = 0; !this.closed; attempt++) {
        try {
          await this.watch(host);
          await this.reconcile(host);
          return;
        } catch (err) {
          this.logger?.warn({ err: describe(err), host: name }, 'cannot follow the host again yet');
          await this.clock.sleep(Math.min(2000, 250 * 2 ** attempt));
        }
      }
    } finally {
      this.rewatching.delete(name);
    }
  }

  /**
   * After a gap in the event stream: instances whose supervisor is gone are lost; one whose
   * supervisor was started again meanwhile (systemd, after it died or after the host rebooted) was
   * restarted, though its lines were missed.
   */
  private async reconcile(host: RemoteHost): Promise<void> {
    for (const inst of [...this.instances.values()].filter((i) => i.host === host && i.state !== 'stopping')) {
      const alive = await inst.runner.alive(inst.id);
      if (!alive) {
        this.forget(inst);
        this.discard(inst);
        inst.state = 'stopped';
        await this.emit('instance.lost', inst, { reason: 'supervisor-gone' });
        continue;
      }
      // not both pids again: a new supervisor and instance (in a PID space that began again, one
      // of them may have an old number)
      const moved = () => alive.supervisorPid > 0 && (alive.supervisorPid !== inst.supervisorPid || (alive.childPid > 0 && alive.childPid !== inst.childPid));
      if (!moved()) continue;
      // in the instance's line order, so a "started" line heard meanwhile is not counted twice
      inst.lines = inst.lines.then(async () => {
        if (!moved()) return;
        await this.supervisorSeen(inst, alive.supervisorPid, true, {
          detectedBy: 'reconcile',
          reason: 'it runs under new processes, started while the host could not be followed (restarted by its supervisor, by systemd, or after a reboot)',
        });
        if (inst.state !== 'crashed') return;
        inst.childPid = alive.childPid;
        await this.restartSeen(inst, inst.restarts + 1);
      }).catch((err) => this.logger?.warn({ err, id: inst.id }, 'reconciling an instance failed'));
    }
  }

  private readonly supervisorNoted = new Set<string>();

  /** the host's runner; which one was chosen is recorded once per host (event host.supervisor) */
  private async supervisorOf(host: RemoteHost): Promise<InstanceRunner> {
    const choice = await host.supervisor();
    const name = host.host.name;
    if (!this.supervisorNoted.has(name)) {
      this.supervisorNoted.add(name);
      await this.record('host.supervisor', `host/${name}`, { host: name, supervisor: choice.kind, requested: choice.requested, reason: choice.reason });
    }
    return host.runner(choice.kind);
  }

  private async checkClock(host: RemoteHost): Promise<void> {
    const before = this.clock.now();
    const remote = await host.clock();
    const after = this.clock.now();
    const skew = remote - (before + after) / 2;
    if (Math.abs(skew) > this.config.max_clock_skew) {
      await this.record('host.clock_skew', `host/${host.host.name}`, { host: host.host.name, skewMs: Math.round(skew), maxMs: this.config.max_clock_skew });
      this.logger?.warn({ host: host.host.name, skewMs: skew }, `host ${host.host.name}'s clock is ${Math.round(skew)}ms off the controller's; times on it are shown as the host says`);
    }
  }

  private onSupervisorLine(host: RemoteHost, l: SupervisorLine): void {
    const inst = this.instances.get(l.id);
    if (!inst) {
      // a fast instance can report before launch() has registered it: kept for a moment
      const early = this.early.get(l.id) ?? [];
      early.push(l);
      this.early.set(l.id, early);
      this.clock.setTimeout(() => this.early.delete(l.id), 30_000);
      return;
    }
    if (inst.host !== host) return;
    // one line at a time per instance: a crash's event is written before the restart's
    inst.lines = inst.lines.then(() => this.handleLine(inst, l)).catch((err) => this.logger?.warn({ err, id: inst.id }, 'supervisor event handling failed'));
  }

  private async handleLine(inst: Instance, l: SupervisorLine): Promise<void> {
    switch (l.kind) {
      case 'started': {
        inst.childPid = Number(l.args[0]);
        // a supervisor counts its own restarts: 0 on a line after the first start is a new one (its
        // pid may even be the old one's, in a PID space that began again with a reboot)
        const fresh = l.args[1] === '0' && (inst.state === 'ready' || inst.state === 'restarting');
        await this.supervisorSeen(inst, Number(l.args[2] ?? 0), fresh, { detectedBy: inst.runner.kind === 'systemd' ? 'systemd' : 'supervisor', reason: 'its supervisor died and was started again' });
        if (inst.state === 'crashed') await this.restartSeen(inst, Number(l.args[1] ?? inst.restarts));
        return;
      }
      case 'exited':
      case 'crashed': {
        if (inst.state === 'starting') {
          inst.exit = { code: l.args[0] ?? 'unknown' };
          inst.wake.abort();
          return;
        }
        if (inst.state !== 'ready' && inst.state !== 'restarting') return;
        const exitCode = Number(l.args[0]);
        inst.state = 'crashed';
        inst.wake.abort();
        inst.wake = new AbortController();
        await this.emit('instance.crashed', inst, {
          phase: 'running',
          exitCode: Number.isFinite(exitCode) && exitCode < 128 ? exitCode : null,
          signal: Number.isFinite(exitCode) && exitCode > 128 ? `signal ${exitCode - 128}` : null,
          detectedBy: 'supervisor',
          logTail: await inst.host.logTail(inst.id, LOG_TAIL_LINES).catch(() => []),
          restartInMs: l.kind === 'crashed' ? Number(l.args[1]) : null,
          consecutiveCrashes: Number(l.args[2] ?? 1),
        });
        if (l.kind === 'exited') {
          this.forget(inst);
          this.discard(inst);
          inst.state = 'stopped';
          await this.emit('instance.lost', inst, { reason: 'exited-unarmed' });
        }
        return;
      }
      case 'stopped': {
        if (inst.onStopped) return inst.onStopped(l);
        if (inst.state === 'stopping' || inst.state === 'stopped') return;
        // stopped on the host by someone else
        this.forget(inst);
        this.discard(inst);
        inst.state = 'stopped';
        await this.emit('instance.lost', inst, { reason: 'stopped-on-host' });
        return;
      }
    }
  }

  /**
   * The supervisor running the instance has this pid. Another one than known means the old one
   * died and systemd started a new one, its instance with it (the unit's processes go together):
   * the old one's end is recorded as a crash, and the new start as a restart.
   */
  private async supervisorSeen(inst: Instance, pid: number, fresh: boolean, why: { detectedBy: string; reason: string }): Promise<void> {
    const replaced = fresh || (pid > 0 && inst.supervisorPid > 0 && pid !== inst.supervisorPid);
    if (pid > 0) inst.supervisorPid = pid;
    if (!replaced) return;
    this.writeRecord(inst);
    if (inst.state !== 'ready' && inst.state !== 'restarting') return;
    inst.state = 'crashed';
    inst.wake.abort();
    inst.wake = new AbortController();
    await this.emit('instance.crashed', inst, {
      phase: 'running',
      exitCode: null,
      signal: null,
      detectedBy: why.detectedBy,
      reason: why.reason,
      logTail: await inst.host.logTail(inst.id, LOG_TAIL_LINES).catch(() => []),
      restartInMs: null,
    });
  }

  /** a crashed instance runs again: restarted, then ready once healthy */
  private async restartSeen(inst: Instance, attempt: number): Promise<void> {
    inst.state = 'restarting';
    inst.restarts++;
    inst.startedAt = this.clock.now();
    this.writeRecord(inst);
    await this.emit('instance.restarted', inst, { attempt });
    const r = await this.waitReady(inst);
    if (this.closed || inst.state !== 'restarting') return;
    if (r.ok) {
      inst.state = 'ready';
      await this.emit('instance.ready', inst, { startupMs: this.clock.now() - inst.startedAt, afterRestart: true });
    } else if (r.reason === 'timeout') {
      // not answering after a restart: killed, so the supervisor restarts it under back-off
      await inst.host.killChild(inst.childPid);
    }
  }

  // ---- instances -----------------------------------------------------------------------------

  private async launchNew(spec: InstanceSpec, host: RemoteHost, digest: string): Promise<Instance> {
    const port = await this.pickPort(host);
    try {
      const id = this.newId(spec.service);
      const env = { ...this.config.env, ...spec.env, PORT: String(port), HOST: host.host.address };
      const runner = await this.supervisorOf(host);
      const supervisorPid = await runner.launch({
        id,
        digest,
        command: spec.command,
        env,
        graceMs: spec.stopGraceMs,
        backoff: this.config.restart_backoff,
        describe: { service: spec.service, version: spec.version, environment: spec.environment },
      });
      const inst: Instance = {
        id,
        spec: structuredClone(spec),
        host,
        runner,
        digest,
        port,
        state: 'starting',
        startedAt: this.clock.now(),
        restarts: 0,
        supervisorPid,
        childPid: 0,
        wake: new AbortController(),
        supervision: new AbortController(),
        lines: Promise.resolve(),
      };
      this.instances.set(id, inst);
      this.writeRecord(inst);
      await this.emit('instance.started', inst, { command: spec.command, logFile: this.logFileOf(inst), digest });
      for (const l of this.early.get(id) ?? []) this.onSupervisorLine(host, l);
      this.early.delete(id);
      return inst;
    } finally {
      this.reservedPorts.delete(port);
    }
  }

  private async pickPort(host: RemoteHost): Promise<number> {
    const used = new Set(this.reservedPorts);
    for (const i of this.instances.values()) used.add(i.port);
    for (const r of this.records.readAll().records) used.add(r.port);
    const [from, to] = this.config.port_range;
    const span = to - from + 1;
    const offset = Math.floor(Math.random() * span);
    for (let k = 0; k < span; k++) {
      const port = from + ((offset + k) % span);
      if (used.has(port) || this.reservedPorts.has(port)) continue;
      // held while it is checked, so launches running at the same time never pick the same port
      this.reservedPorts.add(port);
      if (await portFree(host.host.address, port)) return port;
      this.reservedPorts.delete(port);
    }
    throw new GreenlightError('PORT_IN_USE', `no free port in ${from}-${to} on host ${host.host.name}`, { hint: 'widen target.port_range or stop what uses those ports', data: { host: host.host.name } });
  }

  private async waitReady(inst: Instance, signal?: AbortSignal): Promise<ReadyResult> {
    const { path, timeoutMs } = inst.spec.health;
    const interval = inst.spec.health.intervalMs ?? DEFAULT_HEALTH_INTERVAL_MS;
    const deadline = this.clock.now() + timeoutMs;
    const wake = inst.wake.signal;
    const both = signal ? AbortSignal.any([signal, wake, inst.supervision.signal]) : AbortSignal.any([wake, inst.supervision.signal]);
    for (;;) {
      if (inst.exit) return { ok: false, reason: 'exited' };
      if (signal?.aborted || inst.supervision.signal.aborted || (wake.aborted && inst.state !== 'starting')) return { ok: false, reason: 'aborted' };
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) return { ok: false, reason: 'timeout' };
      const healthy = await probeHealth(inst.port, path, Math.min(remaining, Math.max(1000, interval)), this.clock, inst.host.host.address);
      if (healthy && !inst.exit) return { ok: true };
      try {
        await this.clock.sleep(Math.min(interval, Math.max(1, deadline - this.clock.now())), both);
      } catch {
        // woken: the loop head says why
      }
    }
  }

  private async startError(inst: Instance, r: ReadyResult): Promise<GreenlightError> {
    const s = inst.spec;
    const logTail = await inst.host.logTail(inst.id, LOG_TAIL_LINES).catch(() => [] as string[]);
    const logFile = this.logFileOf(inst);
    const where = `on host ${inst.host.host.name}`;
    const base = { id: inst.id, host: inst.host.host.name, service: s.service, version: s.version, environment: s.environment, role: s.role ?? null, port: inst.port, logFile, logTail };
    const last = logTail.length > 0 ? `; last log line: ${logTail[logTail.length - 1]}` : '';
    if (!r.ok && r.reason === 'exited') {
      return new GreenlightError('INSTANCE_CRASHED', `${s.service}@${s.version} instance ${inst.id} exited during start ${where} (exit ${inst.exit?.code})${last}`, {
        hint: `read the instance log (greenlight logs ${s.service} --env ${s.environment} --host ${inst.host.host.name}); the release fails at startup there`,
        data: { ...base, exitCode: Number(inst.exit?.code) },
      });
    }
    return new GreenlightError('INSTANCE_NOT_READY', `${s.service}@${s.version} instance ${inst.id} ${where} did not answer 2xx on GET http://${inst.host.host.address}:${inst.port}${s.health.path} within ${s.health.timeoutMs}ms${last}`, {
      retryable: true,
      hint: `check that the service listens on $HOST:$PORT (${inst.host.host.address}:${inst.port}), not only on 127.0.0.1, and answers GET ${s.health.path}; read greenlight logs ${s.service} --env ${s.environment} --host ${inst.host.host.name}`,
      data: { ...base, timeoutMs: s.health.timeoutMs },
    });
  }

  private async failBatch(started: Instance[], failed: Instance | undefined, r?: ReadyResult): Promise<void> {
    if (failed && r && !r.ok && r.reason === 'exited') {
      failed.state = 'crashed';
      this.forget(failed);
      await this.emit('instance.crashed', failed, {
        phase: 'start',
        exitCode: Number.isFinite(Number(failed.exit?.code)) ? Number(failed.exit?.code) : null,
        signal: null,
        detectedBy: 'supervisor',
        logTail: await failed.host.logTail(failed.id, LOG_TAIL_LINES).catch(() => []),
      });
      await failed.runner.kill(failed.id, failed.supervisorPid, failed.childPid).catch(() => {});
      await failed.runner.remove(failed.id).catch(() => {});
    }
    await Promise.all(started.filter((i) => i !== failed || !r || r.ok || r.reason !== 'exited').map((i) => this.stopInstance(i, i === failed ? 'not-ready' : 'start-failed')));
  }

  private async adoptOne(r: SshRecord): Promise<Instance | undefined> {
    const host = this.hosts.get(r.host)!;
    const runner = host.runner(r.supervisor ?? 'greenlight');
    const inst: Instance = {
      id: r.id,
      spec: r.spec,
      host,
      runner,
      digest: r.digest,
      port: r.port,
      state: 'starting',
      startedAt: r.startedAt,
      restarts: r.restarts,
      supervisorPid: r.supervisorPid,
      childPid: r.pid,
      wake: new AbortController(),
      supervision: new AbortController(),
      lines: Promise.resolve(),
    };
    let alive: Awaited<ReturnType<InstanceRunner['alive']>>;
    try {
      await this.watch(host);
      alive = await runner.alive(r.id);
    } catch (err) {
      // the host cannot be asked now: keep the record, try again on the next adopt
      this.logger?.warn({ err: describe(err), host: r.host, id: r.id }, 'cannot adopt an instance: host unreachable');
      return undefined;
    }
    if (!alive) {
      this.records.remove(r.id);
      this.discard(inst);
      inst.state = 'stopped';
      await this.emit('instance.lost', inst, { reason: 'not-running' });
      return undefined;
    }
    inst.supervisorPid = alive.supervisorPid;
    inst.childPid = alive.childPid;
    this.instances.set(r.id, inst);
    const ready = await this.waitReady(inst);
    if (this.closed || inst.state !== 'starting') return undefined;
    inst.state = 'ready';
    await this.emit('instance.adopted', inst, { healthy: ready.ok, startedAt: r.startedAt, restarts: r.restarts });
    // ours but not answering: killed, so its supervisor restarts it under back-off
    if (!ready.ok) await host.killChild(inst.childPid);
    return inst;
  }

  private async stopInstance(inst: Instance, reason: string): Promise<void> {
    if (inst.state === 'stopping' || inst.state === 'stopped') return;
    inst.state = 'stopping';
    inst.wake.abort();
    let graceful = true;
    let exitCode: number | null = null;
    let confirmed = true;
    let error: string | undefined;
    try {
      let line: SupervisorLine | undefined;
      const stoppedLine = new Promise<SupervisorLine>((resolve) => (inst.onStopped = resolve)).then((l) => (line = l));
      await inst.runner.requestStop(inst.id, inst.supervisorPid);
      // the line says how it ended; a supervisor already gone (it exited during start) says nothing
      const deadline = this.clock.now() + inst.spec.stopGraceMs + STOP_SLACK_MS;
      while (!line && this.clock.now() < deadline) {
        await Promise.race([stoppedLine, this.clock.sleep(250)]);
        if (!line && !(await inst.runner.alive(inst.id))) break;
      }
      if (line) {
        graceful = line.args[1] !== '0';
        exitCode = Number.isFinite(Number(line.args[0])) ? Number(line.args[0]) : null;
      } else if (await inst.runner.alive(inst.id)) {
        graceful = false;
        await inst.runner.kill(inst.id, inst.supervisorPid, inst.childPid);
      }
      await inst.runner.remove(inst.id);
    } catch (err) {
      // the host cannot be reached: what runs there is not known, and is recorded as such
      confirmed = false;
      error = describe(err);
    }
    inst.supervision.abort();
    this.forget(inst);
    inst.state = 'stopped';
    await this.emit('instance.stopped', inst, { reason, graceful, exitCode, signal: null, ...(confirmed ? {} : { confirmed, error }) });
  }

  // ---- bookkeeping ---------------------------------------------------------------------------

  private forget(inst: Instance): void {
    this.records.remove(inst.id);
    this.instances.delete(inst.id);
  }

  /**
   * An instance the controller no longer tracks: what would start it again (its unit, enabled for
   * boot) is removed, best effort, so nothing runs on the host that no record names.
   */
  private discard(inst: Instance): void {
    void inst.runner.remove(inst.id).catch((err: unknown) => this.logger?.warn({ err: describe(err), id: inst.id }, 'could not remove a lost instance from its host'));
  }

  private writeRecord(inst: Instance): void {
    const r: SshRecord = {
      id: inst.id,
      pid: inst.childPid,
      port: inst.port,
      spec: inst.spec,
      startedAt: inst.startedAt,
      restarts: inst.restarts,
      logFile: this.logFileOf(inst),
      host: inst.host.host.name,
      digest: inst.digest,
      supervisorPid: inst.supervisorPid,
      supervisor: inst.runner.kind,
    };
    this.records.write(r);
  }

  private newId(service: string): string {
    for (;;) {
      const id = `${service}-${randomBytes(4).toString('hex')}`;
      if (!this.instances.has(id) && !existsSync(join(this.records.dir, `${id}.json`))) return id;
    }
  }

  private logFileOf(inst: Instance): string {
    return `${inst.host.host.name}:${inst.host.instanceDir(inst.id)}/log`;
  }

  private info(inst: Instance): InstanceInfo {
    const s = inst.spec;
    const out: InstanceInfo = {
      id: inst.id,
      service: s.service,
      version: s.version,
      environment: s.environment,
      port: inst.port,
      url: `http://${urlHost(inst.host.host.address)}:${inst.port}`,
      pid: inst.childPid,
      state: inst.state,
      startedAt: inst.startedAt,
      restarts: inst.restarts,
      logFile: this.logFileOf(inst),
      host: inst.host.host.name,
    };
    if (s.role !== undefined) out.role = s.role;
    return out;
  }

  private async record<T extends HostEventType>(type: T, subject: string, data: DataOf<T>): Promise<void> {
    await this.append(event(type, { actor: ACTOR, subject, data }));
  }

  private async append<T extends EventType>(e: NewEventOf<T>): Promise<void> {
    try {
      await this.events.append(e);
    } catch (err) {
      this.logger?.warn({ err, type: e.type }, 'could not append event');
    }
  }

  private async emit<T extends InstanceEventType>(type: T, inst: Instance, extra: DataBesides<T, InstanceEventBase>): Promise<void> {
    const instance = this.info(inst);
    const e = instanceEvent(type, instance, ACTOR, extra);
    await this.append(e);
    const heard = heardInstanceEvent(e, instance);
    for (const l of [...this.listeners]) {
      try {
        l(heard);
      } catch (err) {
        this.logger?.warn({ err, type }, 'instance event listener threw');
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new GreenlightError('INTERNAL', 'the ssh target is closed', { hint: 'create a new target (this one was closed)' });
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function urlHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** nothing accepts on address:port (connection refused) */
function portFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port, timeout: 1000 });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

function validateSpec(spec: InstanceSpec, count: number): void {
  const problems: string[] = [];
  if (!SAFE_NAME.test(spec.service) || spec.service.includes('..')) problems.push(`service "${spec.service}" must use only letters, digits, ".", "_" and "-"`);
  if (!SAFE_NAME.test(spec.environment) || spec.environment.includes('..')) problems.push(`environment "${spec.environment}" must use only letters, digits, ".", "_" and "-"`);
  if (!Number.isInteger(count) || count < 0) problems.push(`count must be a whole number >= 0, got ${count}`);
  if (Array.isArray(spec.command) ? spec.command.length === 0 || !spec.command[0] : spec.command.trim() === '') problems.push('command is empty');
  if (!(spec.health.timeoutMs > 0)) problems.push('health.timeoutMs must be > 0');
  if (!(spec.stopGraceMs >= 0)) problems.push('stopGraceMs must be >= 0');
  if (problems.length > 0) throw new GreenlightError('USAGE', `invalid instance spec: ${problems.join('; ')}`, { hint: 'fix the service definition', data: { problems } });
  if (!existsSync(spec.artifactDir)) {
    throw new GreenlightError('ARTIFACT_MISSING', `artifact directory ${spec.artifactDir} of ${spec.service}@${spec.version} does not exist`, {
      hint: 'register the release again, or check the state directory was not cleaned',
      data: { artifactDir: spec.artifactDir, service: spec.service, version: spec.version },
    });
  }
}
