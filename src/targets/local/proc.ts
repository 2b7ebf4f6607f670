// Linux process facts the local target relies on. A pid alone does not identify a process after a
// controller restart: the kernel reuses pids, so a record also keeps the process start time
// (/proc/<pid>/stat field 22, clock ticks since boot) and both must match.
import { readFileSync } from 'node:fs';

interface Stat {
  state: string;
  startTime: string;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) is in parentheses and may itself contain spaces or ')'
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3]
  const state = rest[0];
  const startTime = rest[19];
  if (state === undefined || startTime === undefined) return undefined;
  return { state, startTime };
}

/** The start time of pid, or undefined when it is not running or /proc is not available. */
export function processStartTime(pid: number): string | undefined {
  return readStat(pid)?.startTime;
}

export function procAvailable(): boolean {
  return readStat(process.pid) !== undefined;
}

/**
 * Whether pid is running and is the process that was started at startTime. A zombie counts as
 * dead: it has exited and only waits for its parent to reap it.
 */
export function isSameProcessAlive(pid: number, startTime: string | undefined): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else, so it cannot be ours
    return false;
  }
  const stat = readStat(pid);
  if (!stat) return startTime === undefined; // no /proc: the pid check is all we have
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}

/** Signals the whole process group led by pid (instances are spawned detached, as group leaders). */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}
