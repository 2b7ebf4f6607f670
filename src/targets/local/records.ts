// One JSON file per running instance under <stateDir>/instances: what a new controller needs to
// find, verify and keep supervising instances left running by the previous one.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InstanceSpec } from '../target.ts';

export interface InstanceRecord {
  id: string;
  pid: number;
  /** /proc/<pid>/stat field 22; absent where /proc is not available */
  procStartTime?: string;
  port: number;
  spec: InstanceSpec;
  /** ms since epoch, target clock */
  startedAt: number;
  restarts: number;
  logFile: string;
}

export class RecordStore {
  readonly dir: string;

  /** subdir: each target kind keeps its own records (an ssh record's pid is not a local pid) */
  constructor(stateDir: string, subdir = 'instances') {
    this.dir = join(stateDir, subdir);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  write(r: InstanceRecord): void {
    const file = join(this.dir, `${r.id}.json`);
    // write then rename, so a controller dying mid-write never leaves half a record
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(r, null, 2), { mode: 0o600 });
    renameSync(tmp, file);
  }

  remove(id: string): void {
    rmSync(join(this.dir, `${id}.json`), { force: true });
  }

  /** Records that parse; unreadable ones are returned separately so the caller can report them. */
  readAll(): { records: InstanceRecord[]; unreadable: string[] } {
    const records: InstanceRecord[] = [];
    const unreadable: string[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const r = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as InstanceRecord;
        if (typeof r.id !== 'string' || typeof r.pid !== 'number' || typeof r.port !== 'number' || !r.spec) throw new Error('bad record');
        records.push(r);
      } catch {
        unreadable.push(name);
      }
    }
    return { records, unreadable };
  }
}
