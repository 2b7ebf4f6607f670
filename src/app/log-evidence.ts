// The event log is the record of what was released and deployed; the routers' state files and the
// instances still running are evidence of it. A log that is missing, empty or shorter than that
// evidence (a zero-length events.db after a bad restore, a file truncated by a full disk) must not
// be taken for "nothing deployed": starting on it would forget every release and write a new,
// contradicting history over the old one. Only live evidence counts (a router or instance whose
// process runs), so a log deliberately removed after `down --all` starts fresh.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GreenlightError } from '../errors/errors.ts';
import type { StateView } from '../state/projection.ts';

export interface Evidence {
  /** what runs, e.g. "router production/web serves web@1.0.0 (pid 123)" */
  what: string;
  service: string;
  version: string;
  pid: number;
}

function alive(pid: unknown): pid is number {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const readJson = (file: string): unknown => {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
};

/** Routers and instances of this state directory whose processes still run, and the versions they serve. */
export function liveEvidence(stateDir: string): Evidence[] {
  const out: Evidence[] = [];
  const routers = join(stateDir, 'routers');
  if (existsSync(routers)) {
    for (const name of readdirSync(routers).filter((n) => n.endsWith('.json') && !n.endsWith('.table.json'))) {
      const rec = readJson(join(routers, name)) as { environment?: string; service?: string; pid?: number; stateFile?: string } | undefined;
      if (!rec?.stateFile || !alive(rec.pid)) continue;
      const table = (readJson(rec.stateFile) as { table?: { versions?: { version?: string; weight?: number }[] } } | undefined)?.table;
      for (const v of table?.versions ?? []) {
        if (typeof v.version === 'string' && (v.weight ?? 0) > 0) out.push({ what: `the router of ${rec.environment}/${rec.service} (pid ${rec.pid}) serves ${rec.service}@${v.version}`, service: String(rec.service), version: v.version, pid: rec.pid });
      }
    }
  }
  const targets = join(stateDir, 'targets');
  if (existsSync(targets)) {
    for (const env of readdirSync(targets)) {
      const dir = join(targets, env, 'instances');
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
        const rec = readJson(join(dir, name)) as { id?: string; pid?: number; spec?: { service?: string; version?: string } } | undefined;
        if (!rec?.spec?.service || !rec.spec.version || !alive(rec.pid)) continue;
        out.push({ what: `instance ${rec.id} of ${rec.spec.service}@${rec.spec.version} runs in ${env} (pid ${rec.pid})`, service: rec.spec.service, version: rec.spec.version, pid: rec.pid });
      }
    }
  }
  return out;
}

function refuse(head: string, evidence: Evidence[], stateDir: string): GreenlightError {
  const list = evidence.slice(0, 5).map((e) => `  - ${e.what}`).join('\n');
  const pids = [...new Set(evidence.map((e) => e.pid))].join(' ');
  return new GreenlightError('LOG_DAMAGED', `${head}, but\n${list}${evidence.length > 5 ? `\n  - and ${evidence.length - 5} more` : ''}\nStarting on it would forget those releases and deployments, so the controller does not start (the log was not touched).`, {
    hint: `restore the event log from a backup and run greenlight up again. To start a new record on purpose instead: stop what runs (kill ${pids}) and remove ${join(stateDir, 'routers')} and ${join(stateDir, 'targets')}`,
  });
}

/** Before opening a SQLite log: a missing or empty file while routers and instances still serve is refused. */
export function refuseEmptyLogFile(file: string, stateDir: string): void {
  const size = existsSync(file) ? statSync(file).size : -1;
  if (size > 0) return;
  const evidence = liveEvidence(stateDir);
  if (evidence.length === 0) return;
  throw refuse(`the event log ${file} ${size === 0 ? 'is empty (0 bytes)' : 'does not exist'}`, evidence, stateDir);
}

/** After replaying the log: every version that live routers or instances serve must be a release the log knows. */
export function refuseShortLog(state: StateView, logDesc: string, stateDir: string): void {
  const evidence = liveEvidence(stateDir).filter((e) => !state.releases.has(`${e.service}@${e.version}`));
  if (evidence.length === 0) return;
  const missing = [...new Set(evidence.map((e) => `${e.service}@${e.version}`))].join(', ');
  throw refuse(`the event log (${logDesc}) holds ${state.lastSeq} events and no release ${missing}: it is shorter than what runs`, evidence, stateDir);
}
