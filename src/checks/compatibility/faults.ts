// Drill faults on dependency sources: while one is in force, reading a dependency's version in
// one environment reports the version the drill chose, or fails as unreachable, instead of asking
// the real source. The faults live in one small file with absolute expiries, read on every
// lookup, so the source enforces the limit itself: a fault written by a controller that died is
// ignored once it expires, by whichever process reads it next.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import semver from 'semver';
import type { Clock } from '../../clock/clock.ts';
import { describe, GreenlightError } from '../../errors/errors.ts';
import { MAX_FAULT_MS } from '../../router/faults.ts';

export interface DependencyFault {
  id: string;
  drill: string;
  environment: string;
  dependency: string;
  /** a version to report, or "unreachable" */
  report: string;
  createdAt: number;
  expiresAt: number;
}

/** What a compatibility check asks before reading a dependency's source. */
export interface DependencyFaultLookup {
  active(environment: string, dependency: string, now: number): DependencyFault | null;
}

export class DependencyFaults implements DependencyFaultLookup {
  readonly file: string;
  private readonly clock: Clock;

  constructor(file: string, clock: Clock) {
    this.file = file;
    this.clock = clock;
  }

  /** All faults in the file still in force (expired ones are skipped, never applied). */
  list(now = this.clock.now()): DependencyFault[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    try {
      const faults = (JSON.parse(text) as { faults?: DependencyFault[] }).faults ?? [];
      return faults.filter((f) => typeof f.expiresAt === 'number' && f.expiresAt > now);
    } catch {
      // a damaged file must not turn into a fault: no drill fault is the safe reading
      return [];
    }
  }

  active(environment: string, dependency: string, now: number): DependencyFault | null {
    return this.list(now).find((f) => f.environment === environment && f.dependency === dependency) ?? null;
  }

  put(f: { id: string; drill: string; environment: string; dependency: string; report: string; ttlMs: number }): DependencyFault {
    if (!(f.ttlMs > 0 && f.ttlMs <= MAX_FAULT_MS)) {
      throw new GreenlightError('USAGE', `dependency fault ${f.id}: its time limit must be between 1 ms and ${MAX_FAULT_MS / 3600_000} h`, { hint: 'give the drill a shorter duration' });
    }
    if (f.report !== 'unreachable' && semver.valid(f.report) === null) {
      throw new GreenlightError('USAGE', `dependency fault ${f.id}: "${f.report}" is neither a semver version nor "unreachable"`, { hint: 'e.g. report: "2.4.1"' });
    }
    const now = this.clock.now();
    const fault: DependencyFault = { id: f.id, drill: f.drill, environment: f.environment, dependency: f.dependency, report: f.report, createdAt: now, expiresAt: now + f.ttlMs };
    this.write([...this.list(now).filter((x) => x.id !== f.id), fault]);
    return fault;
  }

  remove(filter: { drill?: string } = {}): number {
    const all = this.list();
    const keep = all.filter((f) => filter.drill !== undefined && f.drill !== filter.drill);
    this.write(keep);
    return all.length - keep.length;
  }

  private write(faults: DependencyFault[]): void {
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ format: 1, faults }, null, 2) + '\n', { mode: 0o600 });
      renameSync(tmp, this.file);
    } catch (err) {
      throw new GreenlightError('INTERNAL', `cannot write the dependency drill faults file ${this.file}: ${describe(err)}`, { hint: 'check that the state directory is writable', cause: err });
    }
  }
}
