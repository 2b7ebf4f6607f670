// The `local` target: each instance is a child process on this machine, on its own port.
// Instances must outlive the controller (a controller restart must not take the service down), so
// they are spawned detached, write their output straight to log files (no pipes back to us), and
// leave a record on disk from which the next controller adopts them.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { GreenlightError, describe } from '../../errors/errors.ts';
import type { DataBesides } from '../../events/catalogue/index.ts';
import type { EventLog } from '../../events/log.ts';
import { probeHealth } from '../health.ts';
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
import { localTargetDefaults, type LocalTargetConfig } from './config.ts';
import { tailLines } from './log-tail.ts';
import { isPortFree, pickFreePort } from './ports.ts';
import { isSameProcessAlive, processStartTime, signalGroup } from './proc.ts';
import { RecordStore, type InstanceRecord } from './records.ts';

const ACTOR = 'target:local';
const DEFAULT_HEALTH_INTERVAL_MS = 200;
/** how long to wait for a process to disappear after SIGKILL before giving up on it */
const KILL_WAIT_MS = 5000;
/** liveness polling of adopted instances while they are being stopped */
const STOP_POLL_MS = 25;
const LOG_TAIL_LINES = 20;
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

interface ExitInfo {
  exitCode: number | null;
  signal: string | null;
  /** 'exit': our child's exit event; 'poll': an adopted process found gone; 'spawn-error': it never ran */
  detectedBy: 'exit' | 'poll' | 'spawn-error';
  error?: string;
}

/** One OS process of an instance; a restart replaces it, the instance (id, port) stays. */
interface Proc {
  pid: number;
  procStartTime?: string;
  child?: ChildProcess;
  exit?: ExitInfo;
  exited: Promise<ExitInfo>;
  /** adopted processes are not our children: liveness is polled */
  poll?: TimerHandle;
  /** checks liveness again soon (used when stopping an adopted process) */
  nudge?: () => void;
}

interface Instance {
  id: string;
  spec: InstanceSpec;
  port: number;
  logFile: string;
  state: InstanceState;
  startedAt: number;
  restarts: number;
  proc: Proc;
  /** crashes since the instance was last ready for reset_after; drives the back-off */
  consecutiveCrashes: number;
  readySince?: number;
  restartTimer?: TimerHandle;
  /** aborted when supervision of this instance ends (stop or close) */
  supervision: AbortController;
}

type ReadyResult = { ok: true } | { ok: false; reason: 'exited'; exit: ExitInfo } | { ok: false; reason: 'timeout' } | { ok: false; reason: 'aborted' };

export class LocalTarget implements Target {
  readonly kind = 'local';
  private readonly config: LocalTargetConfig;
  private readonly stateDir: string;
  private readonly events: EventLog;
  private readonly clock: Clock;
  private readonly logger: TargetDeps['logger'];
  private readonly records: RecordStore;
  private readonly instances = new Map<string, Instance>();
  private readonly listeners = new Set<(e: InstanceEvent) => void>();
  /** ports handed out but not yet visible in `instances` (allocation is async) */
  private readonly reservedPorts = new Set<number>();
  private closed = false;

  /** config: as parsed by localTargetConfigSchema (durations in ms); missing fields take the defaults */
  constructor(config: Partial<LocalTargetConfig>, deps: TargetDeps) {
    this.config = {
      ...localTargetDefaults,
      ...config,
      restart_backoff: { ...localTargetDefaults.restart_backoff, ...config.restart_backoff },
    };
    this.stateDir = deps.stateDir;
    this.events = deps.events;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.records = new RecordStore(deps.stateDir);
  }

  onInstanceEvent(listener: (event: InstanceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  list(filter: InstanceFilter = {}): InstanceInfo[] {
    return [...this.instances.values()]
      .filter((i) => i.state !== 'stopped' && matchesFilter(i.spec, filter))
      .map((i) => this.info(i));
  }

  async start(spec: InstanceSpec, count: number, opts: StartOptions = {}): Promise<InstanceInfo[]> {
    this.assertOpen();
    validateSpec(spec, count);
    opts.signal?.throwIfAborted();
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
      for (let n = 0; n < count; n++) {
        if (batch.signal.aborted) break;
        const inst = await this.launchNew(spec);
        started.push(inst);
        progress(inst);
      }
      const waited = batch.signal.aborted
        ? []
        : await Promise.all(
            started.map(async (inst) => {
              const r = await this.waitReady(inst, inst.proc, batch.signal);
              // one failure fails the batch: stop waiting for the others
              if (!r.ok && r.reason !== 'aborted') batch.abort();
              return r;
            }),
          );
      // ready, then died while the others were still starting: that is a crash at start too
      const results = waited.map((r, i): ReadyResult => {
        const exit = started[i]!.proc.exit;
        return r.ok && exit ? { ok: false, reason: 'exited', exit } : r;
      });
      if (opts.signal?.aborted) {
        await this.failBatch(started, undefined);
        throw opts.signal.reason;
      }
      const failedAt = results.findIndex((r) => !r.ok && r.reason !== 'aborted');
      if (failedAt >= 0 || results.length < started.length || results.some((r) => !r.ok)) {
        const failed = started[failedAt];
        const error = failed
          ? this.startError(failed, results[failedAt]!)
          : new GreenlightError('INTERNAL', 'the target was closed while instances were starting', { retryable: true, hint: 'start them again on the new target' });
        await this.failBatch(started, failed, results[failedAt]);
        for (const inst of started) progress(inst);
        throw error;
      }
      // all marked ready at once, so a crash from now on is handled as a crash of a ready instance
      const now = this.clock.now();
      for (const inst of started) {
        inst.state = 'ready';
        inst.readySince = now;
      }
      for (const inst of started) {
        await this.emit('instance.ready', inst, { startupMs: now - inst.startedAt });
        progress(inst);
      }
      return started.map((i) => this.info(i));
    } catch (err) {
      // failures before the wait (e.g. no free port): nothing started may be left running
      const leftovers = started.filter((i) => i.state !== 'stopped' && i.state !== 'crashed');
      if (leftovers.length > 0) await Promise.all(leftovers.map((i) => this.stopInstance(i, 'start-failed')));
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  async stop(ids: string[]): Promise<void> {
    await Promise.all(
      ids.map((id) => this.instances.get(id)).filter((i): i is Instance => i !== undefined).map((i) => this.stopInstance(i, 'requested')),
    );
  }

  async adopt(filter: InstanceFilter = {}): Promise<InstanceInfo[]> {
    this.assertOpen();
    const { records, unreadable } = this.records.readAll();
    if (unreadable.length > 0) this.logger?.warn({ files: unreadable, dir: this.records.dir }, 'unreadable instance records skipped');
    const mine = records.filter((r) => !this.instances.has(r.id) && matchesFilter(r.spec, filter));
    const adopted = await Promise.all(mine.map((r) => this.adoptOne(r)));
    return adopted.filter((i): i is Instance => i !== undefined).map((i) => this.info(i));
  }

  async close(opts: { stopInstances?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    if (opts.stopInstances) await Promise.all([...this.instances.values()].map((i) => this.stopInstance(i, 'target-closed')));
    this.closed = true;
    for (const inst of this.instances.values()) this.release(inst);
    this.instances.clear();
    this.listeners.clear();
  }

  // ---- start ---------------------------------------------------------------------------------

  private async launchNew(spec: InstanceSpec): Promise<Instance> {
    const port = await pickFreePort(this.config.port_range, this.portsInUse());
    this.reservedPorts.add(port);
    try {
      const id = this.newId(spec.service);
      const logFile = join(this.stateDir, 'logs', spec.service, spec.environment, `${id}.log`);
      const proc = this.spawnProc(spec, id, port, logFile);
      const inst: Instance = {
        id,
        spec: structuredClone(spec),
        port,
        logFile,
        state: 'starting',
        startedAt: this.clock.now(),
        restarts: 0,
        proc,
        consecutiveCrashes: 0,
        supervision: new AbortController(),
      };
      this.instances.set(id, inst);
      this.watch(inst, proc);
      this.writeRecord(inst);
      await this.emit('instance.started', inst, { command: spec.command, logFile });
      return inst;
    } finally {
      this.reservedPorts.delete(port);
    }
  }

  private spawnProc(spec: InstanceSpec, id: string, port: number, logFile: string): Proc {
    mkdirSync(dirname(logFile), { recursive: true, mode: 0o700 });
    const cmd = typeof spec.command === 'string' ? ['/bin/sh', '-c', spec.command] : spec.command;
    appendFileSync(
      logFile,
      `[greenlight ${new Date(this.clock.now()).toISOString()}] starting ${spec.service}@${spec.version} (${id}) on port ${port}: ${JSON.stringify(spec.command)}\n`,
      { mode: 0o600 },
    );
    const fd = openSync(logFile, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(cmd[0]!, cmd.slice(1), {
        cwd: spec.artifactDir,
        env: { ...process.env, ...spec.env, PORT: String(port) },
        // own process group, so stop signals reach the whole tree and the controller's death does not
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    child.unref();
    const pid = child.pid ?? -1;
    const proc: Proc = { pid, child, exited: undefined as unknown as Promise<ExitInfo> };
    proc.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => resolve({ exitCode: code, signal, detectedBy: 'exit' }));
      child.once('error', (err) => {
        if (child.pid === undefined) resolve({ exitCode: null, signal: null, detectedBy: 'spawn-error', error: describe(err) });
      });
    }).then((e) => (proc.exit = e));
    if (pid > 0) {
      const t = processStartTime(pid);
      if (t !== undefined) proc.procStartTime = t;
    }
    return proc;
  }

  /** Polls until GET health answers 2xx, the process exits, the time is up, or signal aborts. */
  private async waitReady(inst: Instance, proc: Proc, signal?: AbortSignal): Promise<ReadyResult> {
    const { path, timeoutMs } = inst.spec.health;
    const interval = inst.spec.health.intervalMs ?? DEFAULT_HEALTH_INTERVAL_MS;
    const deadline = this.clock.now() + timeoutMs;
    const wake = new AbortController();
    const onAbort = () => wake.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    inst.supervision.signal.addEventListener('abort', onAbort, { once: true });
    void proc.exited.then(onAbort);
    try {
      for (;;) {
        if (proc.exit) return { ok: false, reason: 'exited', exit: proc.exit };
        if (signal?.aborted || inst.supervision.signal.aborted) return { ok: false, reason: 'aborted' };
        const remaining = deadline - this.clock.now();
        if (remaining <= 0) return { ok: false, reason: 'timeout' };
        const healthy = await probeHealth(inst.port, path, Math.min(remaining, Math.max(1000, interval)), this.clock);
        // a 2xx from a process that has just died is someone else on the port
        if (healthy && !proc.exit) return { ok: true };
        try {
          await this.clock.sleep(Math.min(interval, Math.max(1, deadline - this.clock.now())), wake.signal);
        } catch {
          // woken by exit or abort: the loop head reports which
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      inst.supervision.signal.removeEventListener('abort', onAbort);
    }
  }

  private startError(inst: Instance, r: ReadyResult): GreenlightError {
    const s = inst.spec;
    const logTail = tailLines(inst.logFile, LOG_TAIL_LINES);
    const base = { id: inst.id, service: s.service, version: s.version, environment: s.environment, role: s.role ?? null, port: inst.port, logFile: inst.logFile, logTail };
    const last = logTail.length > 0 ? `; last log line: ${logTail[logTail.length - 1]}` : '';
    if (!r.ok && r.reason === 'exited') {
      const how = r.exit.error ?? (r.exit.signal ? `killed by ${r.exit.signal}` : `exit code ${r.exit.exitCode}`);
      return new GreenlightError('INSTANCE_CRASHED', `${s.service}@${s.version} instance ${inst.id} exited during start (${how})${last}`, {
        hint: `read the instance log (${inst.logFile}); the release or its configuration fails at startup, so it must be fixed before it can be deployed`,
        data: { ...base, exitCode: r.exit.exitCode, signal: r.exit.signal, ...(r.exit.error ? { error: r.exit.error } : {}) },
      });
    }
    return new GreenlightError('INSTANCE_NOT_READY', `${s.service}@${s.version} instance ${inst.id} did not answer 2xx on GET ${s.health.path} within ${s.health.timeoutMs}ms${last}`, {
      retryable: true,
      hint: `check that the service listens on the port given in $PORT (${inst.port}) and answers GET ${s.health.path} with 2xx; read ${inst.logFile}, or raise the health timeout if it is just slow to start`,
      data: { ...base, timeoutMs: s.health.timeoutMs },
    });
  }

  /** A failed start leaves nothing behind: the failed instance is recorded as crashed, the rest stopped. */
  private async failBatch(started: Instance[], failed: Instance | undefined, r?: ReadyResult): Promise<void> {
    if (failed && r && !r.ok && r.reason === 'exited') {
      if (failed.proc.pid > 0) signalGroup(failed.proc.pid, 'SIGKILL');
      failed.state = 'crashed';
      this.forget(failed);
      await this.emit('instance.crashed', failed, {
        phase: 'start',
        exitCode: r.exit.exitCode,
        signal: r.exit.signal,
        detectedBy: r.exit.detectedBy,
        logTail: tailLines(failed.logFile, LOG_TAIL_LINES),
      });
    }
    await Promise.all(
      started
        .filter((i) => i !== failed || !r || r.ok || r.reason !== 'exited')
        .map((i) => this.stopInstance(i, i === failed ? 'not-ready' : 'start-failed')),
    );
  }

  // ---- supervision -----------------------------------------------------------------------------

  private watch(inst: Instance, proc: Proc): void {
    void proc.exited.then((exit) => {
      if (this.closed || inst.proc !== proc) return;
      // during start, restart and stop the waiting code handles the exit itself
      if (inst.state === 'ready') void this.onCrash(inst, proc, exit).catch((err) => this.logger?.warn({ err, id: inst.id }, 'crash handling failed'));
    });
  }

  private async onCrash(inst: Instance, proc: Proc, exit: ExitInfo | undefined, reason?: string): Promise<void> {
    const now = this.clock.now();
    if (inst.readySince !== undefined && now - inst.readySince >= this.config.restart_backoff.reset_after) inst.consecutiveCrashes = 0;
    inst.state = 'crashed';
    inst.readySince = undefined;
    // children of the instance may still hold the port
    signalGroup(proc.pid, 'SIGKILL');
    const { initial, max } = this.config.restart_backoff;
    const delayMs = Math.min(max, initial * 2 ** inst.consecutiveCrashes);
    inst.consecutiveCrashes++;
    inst.restartTimer = this.clock.setTimeout(() => {
      inst.restartTimer = undefined;
      void this.restart(inst, delayMs).catch((err) => this.logger?.warn({ err, id: inst.id }, 'restart failed'));
    }, delayMs);
    await this.emit('instance.crashed', inst, {
      phase: 'running',
      exitCode: exit?.exitCode ?? null,
      signal: exit?.signal ?? null,
      detectedBy: exit?.detectedBy ?? null,
      ...(reason ? { reason } : {}),
      logTail: tailLines(inst.logFile, LOG_TAIL_LINES),
      restartInMs: delayMs,
      consecutiveCrashes: inst.consecutiveCrashes,
    });
  }

  private async restart(inst: Instance, delayMs: number): Promise<void> {
    if (this.closed || inst.state !== 'crashed') return;
    inst.state = 'restarting';
    const previousPid = inst.proc.pid;
    const previousPort = inst.port;
    // same port when possible, so the router's table stays valid
    if (!(await isPortFree(inst.port))) {
      if (this.closed || inst.state !== 'restarting') return;
      inst.port = await pickFreePort(this.config.port_range, this.portsInUse());
    }
    if (this.closed || inst.state !== 'restarting') return;
    let proc: Proc;
    try {
      proc = this.spawnProc(inst.spec, inst.id, inst.port, inst.logFile);
    } catch (err) {
      proc = { pid: -1, exited: Promise.resolve({ exitCode: null, signal: null, detectedBy: 'spawn-error' as const, error: describe(err) }) };
      proc.exit = { exitCode: null, signal: null, detectedBy: 'spawn-error', error: describe(err) };
    }
    inst.proc = proc;
    inst.startedAt = this.clock.now();
    inst.restarts++;
    this.watch(inst, proc);
    this.writeRecord(inst);
    await this.emit('instance.restarted', inst, { previousPid, previousPort, delayMs, attempt: inst.consecutiveCrashes });
    const r = await this.waitReady(inst, proc);
    if (this.closed || inst.state !== 'restarting' || inst.proc !== proc) return;
    if (r.ok) {
      inst.state = 'ready';
      inst.readySince = this.clock.now();
      await this.emit('instance.ready', inst, { startupMs: this.clock.now() - inst.startedAt, afterRestart: true });
      return;
    }
    if (!proc.exit) {
      signalGroup(proc.pid, 'SIGKILL');
      await this.waitExit(proc, KILL_WAIT_MS);
    }
    await this.onCrash(inst, proc, proc.exit, r.reason === 'timeout' ? 'not-ready-after-restart' : 'exited-during-restart');
  }

  private async adoptOne(r: InstanceRecord): Promise<Instance | undefined> {
    const alive = isSameProcessAlive(r.pid, r.procStartTime);
    const base: Instance = {
      id: r.id,
      spec: r.spec,
      port: r.port,
      logFile: r.logFile,
      state: 'starting',
      startedAt: r.startedAt,
      restarts: r.restarts,
      proc: { pid: r.pid, exited: Promise.resolve({ exitCode: null, signal: null, detectedBy: 'poll' as const }) },
      consecutiveCrashes: 0,
      supervision: new AbortController(),
    };
    if (!alive) {
      const reused = pidExists(r.pid);
      this.records.remove(r.id);
      base.state = 'stopped';
      await this.emit('instance.lost', base, { reason: reused ? 'pid-reused' : 'not-running' });
      return undefined;
    }
    const proc = this.pollProc(r.pid, r.procStartTime, base);
    base.proc = proc;
    this.instances.set(r.id, base);
    this.watch(base, proc);
    const ready = await this.waitReady(base, proc);
    if (this.closed || base.state !== 'starting') return undefined;
    if (!ready.ok && ready.reason === 'exited') {
      this.forget(base);
      base.state = 'stopped';
      await this.emit('instance.lost', base, { reason: 'exited-during-adoption' });
      return undefined;
    }
    base.state = 'ready';
    base.readySince = this.clock.now();
    await this.emit('instance.adopted', base, { healthy: ready.ok, startedAt: r.startedAt, restarts: r.restarts });
    // ours but not answering: handled like a crash, so it is replaced under back-off
    if (!ready.ok) await this.onCrash(base, proc, undefined, 'unhealthy-when-adopted');
    return base;
  }

  /** A process we did not spawn (adopted): its exit is noticed by polling. */
  private pollProc(pid: number, procStartTime: string | undefined, inst: Instance): Proc {
    const proc: Proc = { pid, exited: undefined as unknown as Promise<ExitInfo> };
    if (procStartTime !== undefined) proc.procStartTime = procStartTime;
    proc.exited = new Promise<ExitInfo>((resolve) => {
      const tick = () => {
        proc.poll = undefined;
        if (!isSameProcessAlive(pid, procStartTime)) return resolve({ exitCode: null, signal: null, detectedBy: 'poll' });
        if (this.closed || inst.supervision.signal.aborted) return;
        proc.poll = this.clock.setTimeout(tick, inst.state === 'stopping' ? STOP_POLL_MS : this.config.liveness_interval);
      };
      proc.poll = this.clock.setTimeout(tick, this.config.liveness_interval);
      proc.nudge = () => {
        proc.poll?.cancel();
        proc.poll = this.clock.setTimeout(tick, STOP_POLL_MS);
      };
      inst.supervision.signal.addEventListener('abort', () => proc.poll?.cancel(), { once: true });
    }).then((e) => (proc.exit = e));
    return proc;
  }

  // ---- stop ----------------------------------------------------------------------------------

  private async stopInstance(inst: Instance, reason: string): Promise<void> {
    if (inst.state === 'stopping' || inst.state === 'stopped') return;
    inst.state = 'stopping';
    inst.restartTimer?.cancel();
    inst.restartTimer = undefined;
    const proc = inst.proc;
    let graceful = true;
    if (!proc.exit && proc.pid > 0) {
      // adopted processes are polled: poll fast now instead of at the liveness interval
      proc.nudge?.();
      signalGroup(proc.pid, 'SIGTERM');
      if (!(await this.waitExit(proc, inst.spec.stopGraceMs))) {
        graceful = false;
        signalGroup(proc.pid, 'SIGKILL');
        if (!(await this.waitExit(proc, KILL_WAIT_MS))) this.logger?.warn({ id: inst.id, pid: proc.pid }, 'instance did not exit after SIGKILL');
      }
    }
    // anything the instance left in its group (e.g. a shell's children) goes with it
    if (proc.pid > 0) signalGroup(proc.pid, 'SIGKILL');
    inst.supervision.abort();
    proc.poll?.cancel();
    this.forget(inst);
    inst.state = 'stopped';
    await this.emit('instance.stopped', inst, { reason, graceful, exitCode: proc.exit?.exitCode ?? null, signal: proc.exit?.signal ?? null });
  }

  /** true when the process exited within ms */
  private async waitExit(proc: Proc, ms: number): Promise<boolean> {
    if (proc.exit) return true;
    const ac = new AbortController();
    void proc.exited.then(() => ac.abort());
    try {
      await this.clock.sleep(ms, ac.signal);
    } catch {
      // woken by the exit
    }
    return proc.exit !== undefined;
  }

  // ---- bookkeeping ---------------------------------------------------------------------------

  private release(inst: Instance): void {
    inst.restartTimer?.cancel();
    inst.proc.poll?.cancel();
    inst.supervision.abort();
  }

  private forget(inst: Instance): void {
    this.records.remove(inst.id);
    this.instances.delete(inst.id);
  }

  private writeRecord(inst: Instance): void {
    const r: InstanceRecord = {
      id: inst.id,
      pid: inst.proc.pid,
      port: inst.port,
      spec: inst.spec,
      startedAt: inst.startedAt,
      restarts: inst.restarts,
      logFile: inst.logFile,
    };
    if (inst.proc.procStartTime !== undefined) r.procStartTime = inst.proc.procStartTime;
    this.records.write(r);
  }

  private portsInUse(): Set<number> {
    const ports = new Set(this.reservedPorts);
    for (const i of this.instances.values()) ports.add(i.port);
    // instances of a previous controller not adopted yet keep their ports too
    for (const r of this.records.readAll().records) ports.add(r.port);
    return ports;
  }

  private newId(service: string): string {
    for (;;) {
      const id = `${service}-${randomBytes(4).toString('hex')}`;
      if (!this.instances.has(id) && !existsSync(join(this.records.dir, `${id}.json`))) return id;
    }
  }

  private info(inst: Instance): InstanceInfo {
    const s = inst.spec;
    const out: InstanceInfo = {
      id: inst.id,
      service: s.service,
      version: s.version,
      environment: s.environment,
      port: inst.port,
      url: `http://127.0.0.1:${inst.port}`,
      pid: inst.proc.pid,
      state: inst.state,
      startedAt: inst.startedAt,
      restarts: inst.restarts,
      logFile: inst.logFile,
    };
    if (s.role !== undefined) out.role = s.role;
    return out;
  }

  private async emit<T extends InstanceEventType>(type: T, inst: Instance, extra: DataBesides<T, InstanceEventBase>): Promise<void> {
    const instance = this.info(inst);
    const e = instanceEvent(type, instance, ACTOR, extra);
    const heard = heardInstanceEvent(e, instance);
    try {
      await this.events.append(e);
    } catch (err) {
      // supervision must go on even when the log cannot be written; the listeners still hear it
      this.logger?.warn({ err, type, id: inst.id }, 'could not append instance event');
    }
    for (const l of [...this.listeners]) {
      try {
        l(heard);
      } catch (err) {
        this.logger?.warn({ err, type }, 'instance event listener threw');
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new GreenlightError('INTERNAL', 'the local target is closed', { hint: 'create a new target (this one was closed)' });
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function validateSpec(spec: InstanceSpec, count: number): void {
  const problems: string[] = [];
  if (!SAFE_NAME.test(spec.service) || spec.service.includes('..')) problems.push(`service "${spec.service}" must use only letters, digits, ".", "_" and "-"`);
  if (!SAFE_NAME.test(spec.environment) || spec.environment.includes('..')) problems.push(`environment "${spec.environment}" must use only letters, digits, ".", "_" and "-"`);
  if (!Number.isInteger(count) || count < 0) problems.push(`count must be a whole number >= 0, got ${count}`);
  if (Array.isArray(spec.command) ? spec.command.length === 0 || !spec.command[0] : spec.command.trim() === '') problems.push('command is empty');
  if (!(spec.health.timeoutMs > 0)) problems.push('health.timeoutMs must be > 0');
  if (!(spec.stopGraceMs >= 0)) problems.push('stopGraceMs must be >= 0');
  if (problems.length > 0) {
    throw new GreenlightError('USAGE', `invalid instance spec: ${problems.join('; ')}`, { hint: 'fix the service definition', data: { problems } });
  }
  let isDir = false;
  try {
    isDir = statSync(spec.artifactDir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    throw new GreenlightError('ARTIFACT_MISSING', `artifact directory ${spec.artifactDir} of ${spec.service}@${spec.version} does not exist`, {
      hint: 'register the release again, or check the state directory was not cleaned',
      data: { artifactDir: spec.artifactDir, service: spec.service, version: spec.version },
    });
  }
}
