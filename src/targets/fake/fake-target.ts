// The fake target: instances are in-process HTTP servers on loopback, so controller and router
// tests get real URLs without spawning processes. It passes the same contract as the local target.
// The command picks the behaviour: "fake:never-ready" (health answers 503), "fake:crash-at-start",
// anything else is a healthy instance. crash(id) and kill(id) let tests break instances.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { GreenlightError } from '../../errors/errors.ts';
import type { DataBesides } from '../../events/catalogue/index.ts';
import type { EventLog } from '../../events/log.ts';
import { probeHealth } from '../health.ts';
import { kind } from '../../registry/registry.ts';
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

export const fakeTargetConfigSchema = z.strictObject({
  kind: z.literal('fake'),
  /** first restart delay after a crash; doubles up to 30 s */
  restart_backoff_ms: z.int().min(0).default(1000),
});
export type FakeTargetConfig = z.output<typeof fakeTargetConfigSchema>;

const ACTOR = 'target:fake';

interface FakeInstance {
  id: string;
  spec: InstanceSpec;
  port: number;
  pid: number;
  state: InstanceState;
  startedAt: number;
  restarts: number;
  server?: Server;
  log: string[];
  crashes: number;
  restartTimer?: TimerHandle;
}

/** What outlives a FakeTarget: "the machine", keyed by state dir, so adopt() has something to find. */
const machines = new Map<string, Map<string, FakeInstance>>();
let nextPid = 900_000;
let nextId = 1;

export class FakeTarget implements Target {
  readonly kind = 'fake';
  private readonly config: FakeTargetConfig;
  private readonly events: EventLog;
  private readonly clock: Clock;
  private readonly machine: Map<string, FakeInstance>;
  private readonly supervised = new Set<string>();
  private readonly listeners = new Set<(e: InstanceEvent) => void>();
  private closed = false;

  constructor(config: Partial<FakeTargetConfig>, deps: TargetDeps) {
    this.config = fakeTargetConfigSchema.parse({ kind: 'fake', ...config });
    this.events = deps.events;
    this.clock = deps.clock;
    let m = machines.get(deps.stateDir);
    if (!m) machines.set(deps.stateDir, (m = new Map()));
    this.machine = m;
  }

  onInstanceEvent(listener: (event: InstanceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  list(filter: InstanceFilter = {}): InstanceInfo[] {
    return [...this.supervised]
      .map((id) => this.machine.get(id))
      .filter((i): i is FakeInstance => i !== undefined && i.state !== 'stopped' && matchesFilter(i.spec, filter))
      .map((i) => info(i));
  }

  async start(spec: InstanceSpec, count: number, opts: StartOptions = {}): Promise<InstanceInfo[]> {
    if (this.closed) throw new GreenlightError('INTERNAL', 'the fake target is closed');
    opts.signal?.throwIfAborted();
    const behaviour = typeof spec.command === 'string' ? spec.command : (spec.command[0] ?? '');
    const started: FakeInstance[] = [];
    for (let n = 0; n < count; n++) {
      const inst: FakeInstance = {
        id: `${spec.service}-fake${nextId++}`,
        spec: structuredClone(spec),
        port: 0,
        pid: nextPid++,
        state: 'starting',
        startedAt: this.clock.now(),
        restarts: 0,
        log: [],
        crashes: 0,
      };
      this.machine.set(inst.id, inst);
      this.supervised.add(inst.id);
      started.push(inst);
      if (behaviour !== 'fake:crash-at-start') await this.listen(inst, behaviour === 'fake:never-ready');
      await this.emit('instance.started', inst, { command: spec.command });
      opts.onProgress?.(info(inst));
    }
    if (behaviour === 'fake:crash-at-start') {
      const failed = started[0]!;
      failed.log.push('fatal: fake crash at start');
      failed.state = 'crashed';
      this.forget(failed);
      await this.emit('instance.crashed', failed, { phase: 'start', exitCode: 1, signal: null, logTail: failed.log });
      await Promise.all(started.slice(1).map((i) => this.stopOne(i, 'start-failed')));
      throw new GreenlightError('INSTANCE_CRASHED', `${spec.service}@${spec.version} instance ${failed.id} exited during start (exit code 1)`, {
        hint: 'read the instance log; the release fails at startup',
        data: { id: failed.id, logTail: [...failed.log], exitCode: 1, signal: null },
      });
    }
    for (const inst of started) {
      if (!(await this.waitHealthy(inst, opts.signal))) {
        const err = opts.signal?.aborted
          ? opts.signal.reason
          : new GreenlightError('INSTANCE_NOT_READY', `${spec.service}@${spec.version} instance ${inst.id} did not answer 2xx on GET ${spec.health.path} within ${spec.health.timeoutMs}ms`, {
              retryable: true,
              hint: `make the service answer GET ${spec.health.path} with 2xx, or raise the health timeout`,
              data: { id: inst.id, logTail: [...inst.log], timeoutMs: spec.health.timeoutMs },
            });
        await Promise.all(started.map((i) => this.stopOne(i, i === inst ? 'not-ready' : 'start-failed')));
        throw err;
      }
    }
    for (const inst of started) {
      inst.state = 'ready';
      await this.emit('instance.ready', inst, {});
      opts.onProgress?.(info(inst));
    }
    return started.map(info);
  }

  async stop(ids: string[]): Promise<void> {
    await Promise.all(
      ids
        .filter((id) => this.supervised.has(id))
        .map((id) => this.machine.get(id))
        .filter((i): i is FakeInstance => i !== undefined)
        .map((i) => this.stopOne(i, 'requested')),
    );
  }

  async adopt(filter: InstanceFilter = {}): Promise<InstanceInfo[]> {
    const out: InstanceInfo[] = [];
    for (const inst of [...this.machine.values()]) {
      if (this.supervised.has(inst.id) || !matchesFilter(inst.spec, filter)) continue;
      if (!inst.server || inst.state === 'stopped') {
        this.machine.delete(inst.id);
        await this.emit('instance.lost', inst, { reason: 'not-running' });
        continue;
      }
      this.supervised.add(inst.id);
      inst.state = 'ready';
      await this.emit('instance.adopted', inst, { healthy: true });
      out.push(info(inst));
    }
    return out;
  }

  async close(opts: { stopInstances?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    if (opts.stopInstances) await this.stop([...this.supervised]);
    this.closed = true;
    for (const id of this.supervised) this.machine.get(id)?.restartTimer?.cancel();
    this.supervised.clear();
    this.listeners.clear();
  }

  /** Test hook: the instance dies while supervised; it is restarted after the back-off. */
  async crash(id: string, exitCode = 1): Promise<void> {
    const inst = this.machine.get(id);
    if (!inst || !this.supervised.has(id) || inst.state !== 'ready') throw new GreenlightError('NOT_FOUND', `no ready fake instance ${id}`);
    await this.closeServer(inst, 0);
    inst.state = 'crashed';
    const delayMs = Math.min(30_000, this.config.restart_backoff_ms * 2 ** inst.crashes++);
    inst.restartTimer = this.clock.setTimeout(() => void this.restart(inst, delayMs), delayMs);
    await this.emit('instance.crashed', inst, { phase: 'running', exitCode, signal: null, logTail: [...inst.log], restartInMs: delayMs });
  }

  /** Test hook: the instance dies while nobody supervises it (e.g. between two controllers). */
  async kill(id: string): Promise<void> {
    const inst = this.machine.get(id);
    if (inst) await this.closeServer(inst, 0);
  }

  private async restart(inst: FakeInstance, delayMs: number): Promise<void> {
    if (this.closed || inst.state !== 'crashed') return;
    inst.state = 'restarting';
    inst.restarts++;
    inst.startedAt = this.clock.now();
    await this.listen(inst, false, inst.port);
    await this.emit('instance.restarted', inst, { delayMs });
    inst.state = 'ready';
    await this.emit('instance.ready', inst, { afterRestart: true });
  }

  private async listen(inst: FakeInstance, neverReady: boolean, port = 0): Promise<void> {
    const server = createServer((req, res) => {
      res.setHeader('connection', 'close');
      if (req.url === inst.spec.health.path) {
        res.statusCode = neverReady ? 503 : 200;
        return res.end(neverReady ? 'not ready' : 'ok');
      }
      // FAKE_METRICS: the exposition text of /metrics ("name value" lines separated by ";"), so
      // a release can regress on a metric only a metric source sees.
      if (req.url === '/metrics' && inst.spec.env?.FAKE_METRICS !== undefined) {
        res.setHeader('content-type', 'text/plain; version=0.0.4');
        return res.end(inst.spec.env.FAKE_METRICS.split(';').map((l) => l.trim()).join('\n') + '\n');
      }
      // FAKE_STATUS / FAKE_DELAY_MS in the spec's env make a misbehaving release for rollout tests.
      const status = Number(inst.spec.env?.FAKE_STATUS ?? 200);
      const delay = Number(inst.spec.env?.FAKE_DELAY_MS ?? 0);
      const answer = () => {
        res.statusCode = status;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id: inst.id, version: inst.spec.version, role: inst.spec.role ?? null }));
      };
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    server.unref();
    inst.server = server;
    inst.port = (server.address() as AddressInfo).port;
    inst.log.push(`listening on ${inst.port}`);
  }

  private async waitHealthy(inst: FakeInstance, signal?: AbortSignal): Promise<boolean> {
    const deadline = this.clock.now() + inst.spec.health.timeoutMs;
    const interval = inst.spec.health.intervalMs ?? 100;
    while (!signal?.aborted) {
      if (await probeHealth(inst.port, inst.spec.health.path, 1000, this.clock)) return true;
      if (this.clock.now() + interval > deadline) return false;
      try {
        await this.clock.sleep(interval, signal);
      } catch {
        return false;
      }
    }
    return false;
  }

  private async stopOne(inst: FakeInstance, reason: string): Promise<void> {
    if (inst.state === 'stopping' || inst.state === 'stopped') return;
    inst.state = 'stopping';
    inst.restartTimer?.cancel();
    await this.closeServer(inst, inst.spec.stopGraceMs);
    inst.state = 'stopped';
    this.forget(inst);
    await this.emit('instance.stopped', inst, { reason, graceful: true });
  }

  /** Stops listening, lets in-flight requests finish for up to graceMs, then drops connections. */
  private async closeServer(inst: FakeInstance, graceMs: number): Promise<void> {
    const server = inst.server;
    if (!server) return;
    inst.server = undefined;
    const closed = new Promise<void>((r) => server.close(() => r()));
    const ac = new AbortController();
    await Promise.race([closed, this.clock.sleep(graceMs, ac.signal).catch(() => undefined)]);
    ac.abort();
    server.closeAllConnections();
    await closed;
  }

  private forget(inst: FakeInstance): void {
    this.machine.delete(inst.id);
    this.supervised.delete(inst.id);
  }

  private async emit<T extends InstanceEventType>(type: T, inst: FakeInstance, extra: DataBesides<T, InstanceEventBase>): Promise<void> {
    const instance = info(inst);
    const e = instanceEvent(type, instance, ACTOR, extra);
    const heard = heardInstanceEvent(e, instance);
    await this.events.append(e);
    for (const l of [...this.listeners]) l(heard);
  }
}

function info(i: FakeInstance): InstanceInfo {
  const out: InstanceInfo = {
    id: i.id,
    service: i.spec.service,
    version: i.spec.version,
    environment: i.spec.environment,
    port: i.port,
    url: `http://127.0.0.1:${i.port}`,
    pid: i.pid,
    state: i.state,
    startedAt: i.startedAt,
    restarts: i.restarts,
    logFile: `memory:${i.id}`,
  };
  if (i.spec.role !== undefined) out.role = i.spec.role;
  return out;
}

/** The fake as a target kind, for a registry of test kinds (see registry/registry.test.ts). */
export const fakeTargetKind = kind(fakeTargetConfigSchema, (config: FakeTargetConfig, deps: TargetDeps): Target => new FakeTarget(config, deps));
