// Runs a phase's checks and records each verdict as an event. Checks run one after another, in the
// order the environment lists them: a pre phase is typically a cheap compatibility read followed by
// smoke tests, the list is short, and a sequential run keeps the timeline in config order, keeps
// smoke tests from competing for the fresh instances, and lets a cancelled deployment stop before
// starting the next check. Each check still gets its own deadline, so the phase's total time is
// bounded by the sum of the checks' budgets.
import type { EventType } from '../events/catalogue/index.ts';
import type { EventLog, NewEvent } from '../events/log.ts';
import { describe } from '../errors/errors.ts';
import { formatDuration } from '../config/duration.ts';
import { worstVerdict, type Check, type CheckContext, type CheckPhase, type CheckResult, type CheckVerdict } from './check.ts';
import { deadline } from './deadline.ts';

export interface RunChecksOptions {
  events: EventLog;
  /** who runs the checks, e.g. "controller" */
  actor: string;
  /** what the events are about, e.g. "deployment/<id>" */
  subject: string;
  /**
   * Longest any one check may take before it is reported as hung (verdict error). Defaults to the
   * check's own budget plus a grace period, or 60s for a check that declares none.
   */
  timeoutMs?: number;
}

export interface ChecksOutcome {
  verdict: CheckVerdict;
  results: CheckResult[];
}

export const checkEventTypes = {
  pass: 'check.passed',
  fail: 'check.failed',
  error: 'check.errored',
} as const satisfies Record<CheckVerdict, EventType>;

const graceMs = 2000;
const defaultTimeoutMs = 60_000;

/** Where a check ran, as its event records it. */
export interface CheckEventContext {
  phase: CheckPhase | 'diagnosis';
  environment: string;
  service: string;
  version: string;
  digest: string;
  deploymentId?: string;
}

/** A check's result as its event: check.passed, check.failed or check.errored by its verdict. */
export function checkResultEvent(r: CheckResult, where: CheckEventContext, meta: { actor: string; subject: string }): NewEvent {
  const base = { name: r.name, kind: r.kind, message: r.message, durationMs: r.durationMs, ...(r.details ? { details: r.details } : {}), ...where };
  switch (r.verdict) {
    case 'pass':
      return { type: checkEventTypes.pass, ...meta, data: { ...base, verdict: 'pass' } };
    case 'fail':
      return { type: checkEventTypes.fail, ...meta, data: { ...base, verdict: 'fail' } };
    case 'error':
      return { type: checkEventTypes.error, ...meta, data: { ...base, verdict: 'error' } };
  }
}

export async function runChecks(checks: readonly Check[], ctx: CheckContext, opts: RunChecksOptions): Promise<ChecksOutcome> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    if (ctx.signal?.aborted) break;
    const result = await runOne(check, ctx, opts);
    results.push(result);
    await opts.events.append(
      checkResultEvent(result, { phase: check.phase, environment: ctx.environment, service: ctx.service, version: ctx.release.version, digest: ctx.release.digest }, opts),
    );
  }
  // A cancelled run that skipped checks has verified nothing about them.
  const cancelled = results.length < checks.length;
  return { verdict: worstVerdict([...results.map((r) => r.verdict), ...(cancelled ? (['error'] as const) : [])]), results };
}

async function runOne(check: Check, ctx: CheckContext, opts: RunChecksOptions): Promise<CheckResult> {
  const limit = opts.timeoutMs ?? (check.budgetMs !== undefined ? check.budgetMs + graceMs : defaultTimeoutMs);
  const d = deadline(ctx.clock, limit, ctx.signal);
  const started = ctx.clock.now();
  const own = (message: string, details?: Record<string, unknown>): CheckResult => ({
    name: check.name,
    kind: check.kind,
    verdict: 'error',
    message,
    durationMs: ctx.clock.now() - started,
    ...(details ? { details } : {}),
  });
  const stopped = new Promise<undefined>((resolve) => {
    if (d.signal.aborted) resolve(undefined);
    else d.signal.addEventListener('abort', () => resolve(undefined), { once: true });
  });
  try {
    // The check gets the deadline's signal, so one that honours it stops its own work (kills its
    // command, closes its sockets); racing against the signal covers one that does not.
    let running: Promise<CheckResult>;
    try {
      running = check.run({ ...ctx, signal: d.signal }).catch((err: unknown) => own(`check ${check.name} crashed: ${describe(err)}`));
    } catch (err) {
      return own(`check ${check.name} crashed: ${describe(err)}`);
    }
    const first = await Promise.race([running, stopped]);
    if (first) return first;
    // Stopped: give the check a moment to clean up and say what it saw before moving on.
    let timer: { cancel(): void } | undefined;
    const late = await Promise.race([running, new Promise<undefined>((resolve) => (timer = ctx.clock.setTimeout(() => resolve(undefined), graceMs)))]);
    timer?.cancel();
    if (d.expired()) return own(`check ${check.name} did not finish within ${formatDuration(limit)}`, late?.details);
    return late ?? own(`check ${check.name} was cancelled: ${describe(d.signal.reason)}`);
  } finally {
    d.dispose();
  }
}
