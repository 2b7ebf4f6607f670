// The Check interface is owned here: the rollout controller runs checks through runner.ts and
// only ever sees verdicts. "error" means the check could not verify (timeout, unreachable,
// unreadable answer); it is reported apart from "fail" so nobody reads "could not measure" as
// "bad release", but a gate treats both as blocking.
import { z } from 'zod';
import type { Clock } from '../clock/clock.ts';
import type { DependencySource } from './compatibility/sources.ts';
import type { Fleet } from '../fleet/fleet.ts';
import type { DependencyFaultLookup } from './compatibility/faults.ts';

export type { DependencySource };

export type CheckVerdict = 'pass' | 'fail' | 'error';

export type CheckPhase = 'pre' | 'post';

/** pre: before any traffic moves to the new release; post: after the switch. */
export const phaseSchema = z.enum(['pre', 'post']).describe('pre: before traffic moves to the new release; post: after the switch');

export interface CheckContext {
  environment: string;
  service: string;
  release: {
    version: string;
    digest: string;
    /** dependency name -> semver range */
    requires: Record<string, string>;
    /** where the release's artifact is unpacked on this machine; `cwd: artifact` command checks run there */
    artifactPath?: string;
  };
  /** the environment's router, e.g. http://127.0.0.1:8081 */
  routerUrl?: string;
  /** the new release's instances, e.g. http://127.0.0.1:41234 */
  instanceUrls: string[];
  /** where the environment reads each dependency's running version (the parsed config, by dependency name) */
  dependencies: Record<string, DependencySource>;
  /** the environment's hosts, when its target has several (ssh): per-host sources are read on each */
  fleet?: Fleet;
  /** drill faults that replace a dependency source's answer while in force */
  dependencyFaults?: DependencyFaultLookup;
  signal?: AbortSignal;
  clock: Clock;
}

export interface CheckResult {
  name: string;
  kind: string;
  verdict: CheckVerdict;
  message: string;
  durationMs: number;
  details?: Record<string, unknown>;
}

export interface Check {
  readonly name: string;
  readonly kind: string;
  readonly phase: CheckPhase;
  /**
   * The longest the check may take when nothing answers (its own timeouts and retries added up).
   * The runner allows this plus a grace period before declaring the check hung.
   */
  readonly budgetMs?: number;
  run(ctx: CheckContext): Promise<CheckResult>;
}

/** Combines several verdicts the way a gate reads them: any fail is a fail, else any error is an error. */
export function worstVerdict(verdicts: Iterable<CheckVerdict>): CheckVerdict {
  let out: CheckVerdict = 'pass';
  for (const v of verdicts) {
    if (v === 'fail') return 'fail';
    if (v === 'error') out = 'error';
  }
  return out;
}
