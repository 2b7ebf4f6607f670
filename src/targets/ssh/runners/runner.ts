// How an instance is kept alive on a host: the ssh target's small interface over its two ways.
// Both run Greenlight's supervisor (../supervisor.sh) per instance, so there is one event stream
// (<dir>/events.log, followed by the controller), one doubling back-off and one graceful stop:
// - `greenlight` (./supervisor.ts): the supervisor started with setsid + nohup; it survives the SSH
//   session and the controller, not the supervisor's own death nor a reboot;
// - `systemd` (./systemd.ts): the supervisor as the main process of a systemd unit per instance,
//   which systemd restarts when it dies and starts at boot.
// Which one a host gets is chosen by ./detect.ts (supervisor: auto | systemd | greenlight).
import type { ExecOptions, ExecResult } from '../connection.ts';

export type SupervisorKind = 'systemd' | 'greenlight';

/** what a runner needs of a host (RemoteHost in ../host.ts has it) */
export interface RunnerHost {
  readonly host: { name: string; user: string };
  readonly conn: { exec(command: string, opts?: ExecOptions): Promise<ExecResult> };
  instanceDir(id: string): string;
  releaseDir(digest: string): string;
  readonly eventsFile: string;
  readonly supervisorPath: string;
  /** Greenlight's directory and the supervisor script on the host */
  prepare(): Promise<void>;
}

export interface LaunchOptions {
  id: string;
  digest: string;
  command: string[] | string;
  env: Record<string, string>;
  graceMs: number;
  backoff: { initial: number; max: number; reset_after: number };
  /** for people reading the host (a unit's Description) */
  describe: { service: string; version: string; environment: string };
}

export interface Alive {
  /** 0 while systemd is starting the supervisor again */
  supervisorPid: number;
  childPid: number;
}

export interface InstanceRunner {
  readonly kind: SupervisorKind;
  /** Writes run.sh and starts the instance's supervisor so that it outlives the SSH session and the controller; its pid. */
  launch(opts: LaunchOptions): Promise<number>;
  /** the pids when the instance's supervisor runs (or is being started again) and is this directory's, else undefined */
  alive(id: string): Promise<Alive | undefined>;
  /** asks the supervisor to stop its instance gracefully (TERM, SIGKILL after the grace); it reports a "stopped" line */
  requestStop(id: string, supervisorPid: number): Promise<void>;
  /** ends supervisor and instance at once, so that nothing starts them again */
  kill(id: string, supervisorPid: number, childPid: number): Promise<void>;
  /** after the stop: what would start it again is removed (the log stays for `greenlight logs`) */
  remove(id: string): Promise<void>;
}

/** run.sh: the instance's command in its release directory, with its environment */
export function runScript(host: RunnerHost, opts: LaunchOptions, shq: (s: string) => string): string {
  const cmd = typeof opts.command === 'string' ? `/bin/sh -c ${shq(opts.command)}` : opts.command.map(shq).join(' ');
  const exports = Object.entries(opts.env)
    .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .map(([k, v]) => `export ${k}=${shq(v)}`)
    .join('\n');
  return `cd ${shq(host.releaseDir(opts.digest))} || exit 97\n${exports}\nexec ${cmd}\n`;
}

/** the supervisor's arguments (see the head of ../supervisor.sh) */
export function supervisorArgs(host: RunnerHost, opts: LaunchOptions): string[] {
  return [host.supervisorPath, host.instanceDir(opts.id), host.eventsFile, opts.id, String(opts.graceMs), String(opts.backoff.initial), String(opts.backoff.max), String(opts.backoff.reset_after)];
}

/** shell, before the start: the instance directory, run.sh from stdin (runScript), not armed yet */
export function stageRunScript(host: RunnerHost, id: string, shq: (s: string) => string): string {
  const idir = host.instanceDir(id);
  return `mkdir -p ${shq(idir)} && cat > ${shq(idir + '/run.sh')} && rm -f ${shq(idir + '/armed')}`;
}

/** the "<supervisor pid> <child pid>" line both runners' alive() print, or nothing */
export function parseAlive(stdout: string): Alive | undefined {
  const [s, c] = stdout.trim().split(' ');
  if (!s) return undefined;
  return { supervisorPid: Number(s), childPid: Number(c ?? 0) };
}
