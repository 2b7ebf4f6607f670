// A drill scenario: what goes wrong, when and how much, what the cause is (so a participant's
// root cause can be scored), and how long the drill may last. Teams keep scenarios as YAML files
// in their repository; they are validated like the config (strict keys, every problem at once,
// file:line:column). Built-in scenarios live beside this file in scenarios/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { duration } from '../config/duration.ts';
import { formatPath, locate, type ConfigProblem } from '../config/locate.ts';
import { GreenlightError } from '../errors/errors.ts';
import { MAX_FAULT_MS } from '../router/faults.ts';

const share = z.number().gt(0, { message: 'share must be above 0' }).max(1, { message: 'share is a fraction: at most 1 (100%)' });
const timing = {
  /** offset from the drill's start, or with `after: failure` from the first failure the machinery saw */
  at: duration.default(0),
  /** failure: counted from the first failing analysis verdict of the drill's deployment, or the first DRILL alert */
  after: z.literal('failure').optional(),
  /** how long it lasts; default until the drill ends */
  for: duration.optional(),
};
const versionRef = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/, 'a version, e.g. "2.0.0"');

export const scenarioFaultSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('error'),
    ...timing,
    share: share.default(1),
    status: z.int().min(500).max(599).default(500),
    /** default: the scenario's `hits` */
    version: versionRef.optional(),
  }),
  z.strictObject({
    kind: z.literal('latency'),
    ...timing,
    latency: duration.refine((ms) => ms >= 1 && ms <= 600_000, { message: 'latency between 1ms and 10m' }),
    /** a creep: latency grows to `to` in `steps` equal steps over `over` */
    ramp: z.strictObject({ to: duration, over: duration, steps: z.int().min(1).max(100).default(5) }).optional(),
    version: versionRef.optional(),
  }),
  z.strictObject({
    kind: z.literal('drop'),
    ...timing,
    share: share.default(1),
    version: versionRef.optional(),
  }),
  z.strictObject({
    kind: z.literal('dependency'),
    ...timing,
    dependency: z.string().min(1),
    /** the version the source reports, or "unreachable" */
    report: z.string().refine((r) => r === 'unreachable' || semver.valid(r) !== null, { message: 'a semver version like "2.4.1", or "unreachable"' }),
  }),
]);

const targetsSchema = z.strictObject({
  detect: duration.optional(),
  acknowledge: duration.optional(),
  diagnose: duration.optional(),
  mitigate: duration.optional(),
});

/** rollback: traffic moved off the faulted version (by a person, or by the canary analysis); incident: marked mitigated by a person */
export const MITIGATIONS = ['rollback', 'incident'] as const;

export const scenarioSchema = z
  .strictObject({
    version: z.literal(1, { message: 'expected version: 1' }),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lowercase letters, digits and "-"'),
    title: z.string().min(1),
    description: z.string().optional(),
    /** the service drilled; default: the config's only service */
    service: z.string().optional(),
    /** which version the router faults hit: the one serving when the drill starts, every version, or a named one */
    hits: z.union([z.literal('stable'), z.literal('all'), versionRef]).default('stable'),
    /** the drill's time limit; every fault ends by then at the latest */
    duration: duration.refine((ms) => ms > 0 && ms <= MAX_FAULT_MS, { message: `between 1s and ${MAX_FAULT_MS / 3600_000}h` }).default(15 * 60_000),
    cause: z.strictObject({
      summary: z.string().min(1),
      /** words a recorded root cause must all contain (case-insensitive) to count as the right diagnosis */
      match: z.array(z.string().min(1)).min(1),
    }),
    faults: z.array(scenarioFaultSchema).min(1, { message: 'a scenario needs at least one fault' }),
    /** a real deployment of this version into the drill's environment, `at` after the start (the faults hit it unless `hits` says otherwise) */
    deploy: z.strictObject({ version: versionRef, at: duration.default(0) }).optional(),
    /** what ends the drill as mitigated: traffic moved off the faulted version, or the incident marked mitigated */
    mitigated_by: z.array(z.enum(MITIGATIONS)).min(1).default([...MITIGATIONS]),
    /** overrides the team's targets for this scenario */
    targets: targetsSchema.optional(),
    /** set when derived from a recorded incident */
    origin: z.strictObject({ incident: z.string(), title: z.string().optional(), verdict_path: z.array(z.string()).optional() }).optional(),
  })
  .superRefine((s, ctx) => {
    s.faults.forEach((f, i) => {
      if (f.at >= s.duration) ctx.addIssue({ code: 'custom', path: ['faults', i, 'at'], message: `starts at or after the drill's end (duration ${s.duration / 1000}s)`, params: { hint: 'lengthen duration or move the fault earlier' } });
      if (f.after !== undefined && f.kind === 'latency') ctx.addIssue({ code: 'custom', path: ['faults', i, 'after'], message: 'after: failure is for error, drop and dependency faults' });
    if (f.kind === 'latency' && f.ramp && f.ramp.to <= f.latency) ctx.addIssue({ code: 'custom', path: ['faults', i, 'ramp', 'to'], message: 'a creep ends above where it starts' });
    });
  });

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioFault = z.output<typeof scenarioFaultSchema>;

export class ScenarioError extends GreenlightError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    const lines = problems.map((p) => `  ${p.line !== undefined ? `${p.file}:${p.line}:${p.column}` : p.file}  ${p.path}: ${p.message}${p.hint ? `\n      hint: ${p.hint}` : ''}`);
    super('CONFIG_INVALID', `${problems.length} problem${problems.length === 1 ? '' : 's'} in the drill scenario:\n${lines.join('\n')}`, {
      hint: 'fix the fields above; `greenlight drill scenarios` lists the built-in scenarios to start from',
      data: { problems },
    });
    this.problems = problems;
  }
}

/** Parses and validates a scenario's YAML text; every problem at once, each with file:line:column. */
export function parseScenario(text: string, file = 'scenario.yaml'): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = lines.linePos(e.pos[0]);
    problems.push({ file, line: pos.line, column: pos.col, path: '(yaml)', message: e.message.split('\n')[0]! });
  }
  if (problems.length) throw new ScenarioError(problems);
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (raw === null || typeof raw !== 'object') throw new ScenarioError([{ file, line: 1, column: 1, path: '(top level)', message: 'the file is empty or not a mapping' }]);
  const parsed = scenarioSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        problems.push({ file, ...locate(doc, lines, path, true), path: formatPath(path), message: `unknown key "${key}"`, hint: 'remove it; see docs/drills.md for the scenario keys' });
      }
      continue;
    }
    const hint = (issue as { params?: { hint?: string } }).params?.hint;
    problems.push({ file, ...locate(doc, lines, issue.path), path: formatPath(issue.path), message: issue.message, ...(hint ? { hint } : {}) });
  }
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  throw new ScenarioError(problems);
}

const BUILTIN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');

export function builtinScenarioNames(): string[] {
  return readdirSync(BUILTIN_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort();
}

/** A built-in scenario by name, or a scenario file by path (relative to `cwd`). */
export function loadScenario(ref: string, cwd = process.cwd()): { scenario: Scenario; file: string; builtin: boolean } {
  const builtin = builtinScenarioNames().includes(ref);
  const file = builtin ? join(BUILTIN_DIR, `${ref}.yaml`) : resolve(cwd, ref);
  let text: string;
  try {
    // A regular file of sensible size only: the API passes this path through, and reading
    // /dev/zero or a FIFO would never end (found by the API fuzz test).
    const st = statSync(file);
    if (!st.isFile()) throw new GreenlightError('USAGE', `drill scenario ${file} is not a regular file`, { hint: `built-in scenarios: ${builtinScenarioNames().join(', ')}; or give the path of a scenario file` });
    if (st.size > 1_000_000) throw new GreenlightError('USAGE', `drill scenario ${file} is larger than 1 MB`, { hint: 'a scenario is a short YAML file' });
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof GreenlightError) throw err;
    throw new GreenlightError('NOT_FOUND', `no drill scenario "${ref}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not a built-in name and no such file' : String(err)}`, {
      hint: `built-in scenarios: ${builtinScenarioNames().join(', ')}; or give the path of a scenario file`,
    });
  }
  return { scenario: parseScenario(text, builtin ? `builtin:${ref}` : file), file, builtin };
}

/** One fault as the drill pushes it: where, when (offset), for how long, and what. */
export type PlannedFault = (
  | { id: string; at: number; ttlMs: number; target: 'router'; version: string | null; kind: 'error'; share: number; status: number }
  | { id: string; at: number; ttlMs: number; target: 'router'; version: string | null; kind: 'latency'; latencyMs: number }
  | { id: string; at: number; ttlMs: number; target: 'router'; version: string | null; kind: 'drop'; share: number }
  | { id: string; at: number; ttlMs: number; target: 'dependency'; dependency: string; report: string }
) & { afterFailure?: true };

/**
 * The scenario as a timed list of pushes. Each fault's limit is its own `for`, cut at the drill's
 * end, so nothing a drill pushes can outlive the drill's duration. A creep is a series of pushes
 * with the same id, each replacing the previous one.
 */
export function planFaults(s: Scenario, drillId: string, hitVersion: string | null): PlannedFault[] {
  const out: PlannedFault[] = [];
  s.faults.forEach((f, i) => {
    const id = `${drillId}-f${i + 1}`;
    const end = Math.min(s.duration, f.for === undefined ? s.duration : f.at + f.for);
    const version = 'version' in f && f.version !== undefined ? f.version : hitVersion;
    const after = f.after === 'failure' ? ({ afterFailure: true } as const) : {};
    if (f.kind === 'dependency') {
      // pushed only when the failure is seen; its limit is then cut at the drill's end
      out.push({ id, at: f.at, ttlMs: end - f.at, target: 'dependency', dependency: f.dependency, report: f.report, ...after });
    } else if (f.kind === 'latency' && f.ramp) {
      const { to, over, steps } = f.ramp;
      for (let k = 0; k <= steps; k++) {
        const at = f.at + Math.round((over * k) / steps);
        if (at >= end) break;
        out.push({ id, at, ttlMs: end - at, target: 'router', version, kind: 'latency', latencyMs: Math.round(f.latency + ((to - f.latency) * k) / steps) });
      }
    } else if (f.kind === 'latency') {
      out.push({ id, at: f.at, ttlMs: end - f.at, target: 'router', version, kind: 'latency', latencyMs: f.latency });
    } else if (f.kind === 'error') {
      out.push({ id, at: f.at, ttlMs: end - f.at, target: 'router', version, kind: 'error', share: f.share, status: f.status, ...after });
    } else {
      out.push({ id, at: f.at, ttlMs: end - f.at, target: 'router', version, kind: 'drop', share: f.share, ...after });
    }
  });
  return out.sort((a, b) => a.at - b.at);
}

/** Does a recorded root cause name the scenario's cause? All the match words, case-insensitive. */
export function rootCauseMatches(s: Pick<Scenario, 'cause'>, text: string): boolean {
  const t = text.toLowerCase();
  return s.cause.match.every((w) => t.includes(w.toLowerCase()));
}
