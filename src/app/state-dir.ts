// The state directory holds every deploy reason, note and alert (the event log), the API token,
// the routers' tables and the instances' logs: it is the owner's alone. It is created 0700 and its
// files 0600 whatever the umask; at start, looser modes left by an older version, a copy or a
// restore are reported as warnings and tightened, so nothing stays readable by every local user.
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * Only Greenlight's own entries are touched (state_dir may be shared with other files, or even be
 * "/", which is warned about by config validation): files at the top, and the sub-directories
 * whose files are private. Artifacts are the releases' own code and keep their modes.
 */
const PRIVATE_FILES = /^(events\.db(-wal|-shm)?|token|controller\.log)$/;
const PRIVATE_DIRS = ['routers', 'targets', 'logs', 'instances'];
const OWN_DIRS = [...PRIVATE_DIRS, 'artifacts'];
const MAX_ENTRIES = 20_000;

export function createStateDir(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
}

/** Creates the state dir 0700, then checks it and its private files; returns one warning per fix. */
export function secureStateDir(stateDir: string): string[] {
  createStateDir(stateDir);
  const warnings: string[] = [];
  const fix = (path: string, want: number, isDir: boolean) => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    const mode = st.mode & 0o777;
    if ((mode & 0o077) === 0) return;
    chmodSync(path, want | (isDir ? 0 : mode & 0o100));
    const where = relative(stateDir, path) || '.';
    warnings.push(`${where === '.' ? stateDir : join(stateDir, where)} was mode ${mode.toString(8).padStart(4, '0')}, readable by other local users; tightened to ${(want | (isDir ? 0 : mode & 0o100)).toString(8).padStart(4, '0')}`);
  };
  if (resolve(stateDir) !== resolve('/')) fix(stateDir, 0o700, true);
  let seen = 0;
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (++seen > MAX_ENTRIES) return;
      const full = join(dir, name);
      let st;
      try {
        st = lstatSync(full);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        fix(full, 0o700, true);
        walk(full);
      } else if (st.isFile()) fix(full, 0o600, false);
    }
  };
  for (const name of readdirSync(stateDir)) {
    const full = join(stateDir, name);
    const st = lstatSync(full);
    if (st.isFile() && PRIVATE_FILES.test(name)) fix(full, 0o600, false);
    else if (st.isDirectory() && PRIVATE_DIRS.includes(name)) {
      fix(full, 0o700, true);
      walk(full);
    } else if (st.isDirectory() && OWN_DIRS.includes(name)) fix(full, 0o700, true);
  }
  return warnings;
}
