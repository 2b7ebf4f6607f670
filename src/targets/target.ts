// A target is where the instances of a release run: local child processes today, servers over SSH
// or Kubernetes later. The controller only sees this interface; each kind is picked by the
// registry (registry.ts) from the environment's `target:` config.
import type { Clock } from '../clock/clock.ts';
import type { EventLog } from '../events/log.ts';

export interface InstanceSpec {
  service: string;
  version: string;
  environment: string;
  /** working directory of the instance: the unpacked release artifact */
  artifactDir: string;
  /** array: spawned directly; string: run through /bin/sh -c */
  command: string[] | string;
  /** added to the target's environment; the target adds PORT */
  env?: Record<string, string>;
  /** ready when GET path answers 2xx within timeoutMs of the start */
  health: { path: string; timeoutMs: number; intervalMs?: number };
  /** stop = SIGTERM, wait up to this long for the instance to drain, then SIGKILL */
  stopGraceMs: number;
  /** free label, e.g. "stable" | "canary" | "baseline" */
  role?: string;
}

export type InstanceState = 'starting' | 'ready' | 'crashed' | 'restarting' | 'stopping' | 'stopped';

export interface InstanceInfo {
  id: string;
  service: string;
  version: string;
  environment: string;
  role?: string;
  port: number;
  /** base URL the router forwards to, e.g. http://127.0.0.1:41234 */
  url: string;
  pid: number;
  state: InstanceState;
  /** ms since epoch (target clock) when the current process was started */
  startedAt: number;
  /** how many times the target restarted this instance after a crash */
  restarts: number;
  logFile: string;
  /** the host it runs on, for targets of several machines (ssh); absent for local instances */
  host?: string;
}

export type InstanceEventType =
  | 'instance.started'
  | 'instance.ready'
  | 'instance.crashed'
  | 'instance.restarted'
  | 'instance.stopped'
  | 'instance.adopted'
  | 'instance.lost';

/** What onInstanceEvent listeners get; the same event is appended to the EventLog. */
export interface InstanceEvent {
  type: InstanceEventType;
  instance: InstanceInfo;
  /** the event's data as appended (service, version, environment, role, port, pid, and more) */
  data: Record<string, unknown>;
}

export interface InstanceFilter {
  service?: string;
  version?: string;
  environment?: string;
  role?: string;
}

export function matchesFilter(spec: Pick<InstanceSpec, 'service' | 'version' | 'environment' | 'role'>, f: InstanceFilter): boolean {
  return (
    (f.service === undefined || f.service === spec.service) &&
    (f.version === undefined || f.version === spec.version) &&
    (f.environment === undefined || f.environment === spec.environment) &&
    (f.role === undefined || f.role === spec.role)
  );
}

export interface StartOptions {
  /** aborting stops the instances started so far and rejects with the signal's reason */
  signal?: AbortSignal;
  /** called on each state change of the instances being started */
  onProgress?: (instance: InstanceInfo) => void;
  /** targets of several hosts: start only on these (names); default: spread over all */
  hosts?: string[];
}

export interface Target {
  readonly kind: string;
  /**
   * Starts count instances of spec and resolves when all are ready. When one does not become
   * ready in time (INSTANCE_NOT_READY) or exits during start (INSTANCE_CRASHED), all the
   * instances of this call are stopped and the GreenlightError carries the log tail in its data.
   */
  start(spec: InstanceSpec, count: number, opts?: StartOptions): Promise<InstanceInfo[]>;
  /** graceful stop (SIGTERM, grace, SIGKILL); unknown ids are ignored */
  stop(ids: string[]): Promise<void>;
  /** instances currently supervised by this target (any state but stopped) */
  list(filter?: InstanceFilter): InstanceInfo[];
  /**
   * After a controller restart: finds instances left running by a previous target on the same
   * state, checks they are ours (not a reused pid) and healthy, and supervises them again.
   * Dead ones are forgotten with an instance.lost event. Returns the instances now supervised.
   * filter: only these (e.g. { environment }), when several targets share one state directory.
   */
  adopt(filter?: InstanceFilter): Promise<InstanceInfo[]>;
  /** crash, restart, stop... as they happen, without reading the log; returns the unsubscribe */
  onInstanceEvent(listener: (event: InstanceEvent) => void): () => void;
  /** stops supervising; instances keep running (they survive a controller restart) unless stopInstances */
  close(opts?: { stopInstances?: boolean }): Promise<void>;
}

/** What every target kind is built with (the composition root provides these). */
export interface TargetDeps {
  /** the controller's state directory; records and logs of instances live under it */
  stateDir: string;
  events: EventLog;
  clock: Clock;
  /** where background failures (e.g. an event that could not be appended) are reported */
  logger?: { warn(obj: object, msg?: string): void };
}

export function instanceSubject(id: string): string {
  return `instance/${id}`;
}

/** The fields every instance event carries, so timelines can be read without joining. */
export function instanceEventData(i: InstanceInfo): Record<string, unknown> {
  return {
    service: i.service,
    version: i.version,
    environment: i.environment,
    role: i.role ?? null,
    port: i.port,
    pid: i.pid,
    ...(i.host !== undefined ? { host: i.host } : {}),
  };
}
