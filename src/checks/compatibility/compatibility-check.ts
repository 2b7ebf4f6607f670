// The check the 3 June outage needed: before any traffic moves, every third-party dependency the
// release declares (`requires: { acme-auth: ">=3.0.0 <4" }`) must be running, in this environment,
// at a version inside the declared range. Versions are read live from each environment's sources,
// so "which versions run where" is answered at gate time, not from a wiki page.
import semver from 'semver';
import { z } from 'zod';
import { duration } from '../../config/duration.ts';
import { describe, GreenlightError } from '../../errors/errors.ts';
import { phaseSchema, worstVerdict, type Check, type CheckContext, type CheckResult, type CheckVerdict } from '../check.ts';
import { readDependencyVersion, type DependencySource } from './sources.ts';
import type { DependencyFault } from './faults.ts';
import { isHostSource, readOnHost, type HostDependencySource } from './host-sources.ts';
import type { Fleet } from '../../fleet/fleet.ts';

export const compatibilityCheckSchema = z.strictObject({
  kind: z.literal('compatibility'),
  phase: phaseSchema.optional().describe('default pre'),
  timeout: duration.optional().describe('default 5s, for all dependencies together (they are read in parallel)'),
});

export type CompatibilityCheckSpec = z.infer<typeof compatibilityCheckSchema>;

export interface DependencyFinding {
  name: string;
  required: string;
  verdict: CheckVerdict;
  /** the running version, when it could be read */
  found?: string;
  /** what the source reported before normalising */
  raw?: string;
  /** where it was read */
  where?: string;
  message: string;
  hint?: string;
  /** per-host sources: what each host runs */
  hosts?: { host: string; verdict: CheckVerdict; found?: string; message: string }[];
}

export function createCompatibilityCheck(name: string, spec: CompatibilityCheckSpec): Check {
  const timeoutMs = spec.timeout ?? 5000;
  return {
    name,
    kind: 'compatibility',
    phase: spec.phase ?? 'pre',
    budgetMs: timeoutMs + 1000,
    async run(ctx: CheckContext): Promise<CheckResult> {
      const started = ctx.clock.now();
      const releaseRef = `${ctx.service}@${ctx.release.version}`;
      const requires = Object.entries(ctx.release.requires);
      const findings = await Promise.all(requires.map(([dep, range]) => evaluate(ctx, releaseRef, dep, range, timeoutMs)));
      const verdict = worstVerdict(findings.map((f) => f.verdict));
      return {
        name,
        kind: 'compatibility',
        verdict,
        message: summarise(verdict, findings, releaseRef, ctx.environment),
        durationMs: ctx.clock.now() - started,
        details: { environment: ctx.environment, release: releaseRef, dependencies: findings },
      };
    },
  };
}

async function evaluate(ctx: CheckContext, releaseRef: string, dep: string, range: string, timeoutMs: number): Promise<DependencyFinding> {
  const base = { name: dep, required: range };
  if (semver.validRange(range) === null) {
    return {
      ...base,
      verdict: 'error',
      message: `${releaseRef} requires ${dep} "${range}", which is not a semver range`,
      hint: `fix the requirement in the release's requirements file, e.g. ">=3.0.0 <4"`,
    };
  }
  const source = ctx.dependencies[dep];
  if (!source) {
    return {
      ...base,
      verdict: 'error',
      message: `${releaseRef} requires ${dep} "${range}", but environment ${ctx.environment} has no version source for ${dep}`,
      hint: `add "${dep}" under "dependencies:" of environment "${ctx.environment}" in greenlight.yaml (environments[].dependencies.${dep}), e.g. { kind: http, url: "http://<${dep} host>/version", field: "version" } or { kind: fixed, version: "<version>" }`,
    };
  }
  if (ctx.fleet && isHostSource(source)) return evaluateHosts(ctx, ctx.fleet, releaseRef, dep, range, source, timeoutMs);
  let read;
  const fault = ctx.dependencyFaults?.active(ctx.environment, dep, ctx.clock.now()) ?? null;
  try {
    read = fault ? drillRead(fault, source) : await readDependencyVersion(dep, source, { clock: ctx.clock, signal: ctx.signal, timeoutMs });
  } catch (err) {
    const hint = err instanceof GreenlightError ? err.hint : undefined;
    return { ...base, verdict: 'error', message: describe(err), ...(hint ? { hint } : {}) };
  }
  const found = { found: read.version, raw: read.raw, where: read.where };
  if (semver.satisfies(read.version, range)) {
    return { ...base, ...found, verdict: 'pass', message: `${dep} ${read.version} satisfies "${range}" (read from ${read.where})` };
  }
  return {
    ...base,
    ...found,
    verdict: 'fail',
    message: `${dep} ${read.version} does not satisfy "${range}" required by ${releaseRef} (read from ${read.where})`,
    hint: `upgrade ${dep} in ${ctx.environment} to a version in ${range}, or release a version of ${ctx.service} that supports ${read.version}`,
  };
}

/** The drill's answer in place of the source's; `where` says so, so no one mistakes it for the real version. */
function drillRead(f: DependencyFault, source: DependencySource): { version: string; raw: string; where: string } {
  const real = source.kind === 'http' ? source.url : source.kind;
  if (f.report === 'unreachable') {
    throw new GreenlightError('DEPENDENCY_UNREADABLE', `DRILL ${f.drill}: ${f.dependency} is unreachable (fault ${f.id} in place of ${real})`, {
      retryable: true,
      hint: 'this is a rehearsal: greenlight drill stop ends it',
    });
  }
  return { version: f.report, raw: f.report, where: `DRILL ${f.drill} fault ${f.id} (in place of ${real})` };
}

function summarise(verdict: CheckVerdict, findings: DependencyFinding[], releaseRef: string, environment: string): string {
  if (findings.length === 0) return `${releaseRef} declares no third-party requirements`;
  if (verdict === 'pass') {
    return `every requirement of ${releaseRef} is met in ${environment}: ${findings.map((f) => `${f.name} ${f.found} satisfies "${f.required}"`).join(', ')}`;
  }
  const order: Record<CheckVerdict, number> = { fail: 0, error: 1, pass: 2 };
  return findings
    .filter((f) => f.verdict !== 'pass')
    .sort((a, b) => order[a.verdict] - order[b.verdict])
    .map((f) => (f.hint ? `${f.message}; hint: ${f.hint}` : f.message))
    .join('\n');
}

/**
 * A per-host source: every host of the environment is asked, and the finding names each host that
 * fails ("web-3 runs acme-auth 2.4.1; web@2.0.0 needs >=3.0.0 <4") or cannot be read.
 */
async function evaluateHosts(ctx: CheckContext, fleet: Fleet, releaseRef: string, dep: string, range: string, source: HostDependencySource, timeoutMs: number): Promise<DependencyFinding> {
  const base = { name: dep, required: range };
  const hosts = await Promise.all(
    fleet.hosts().map(async (h) => {
      try {
        const read = await readOnHost(dep, source, fleet, h, { clock: ctx.clock, ...(ctx.signal ? { signal: ctx.signal } : {}), timeoutMs });
        const ok = semver.satisfies(read.version, range);
        return { host: h.name, verdict: (ok ? 'pass' : 'fail') as CheckVerdict, found: read.version, message: ok ? `${h.name} runs ${dep} ${read.version}` : `${h.name} runs ${dep} ${read.version}; ${releaseRef} needs ${range}` };
      } catch (err) {
        return { host: h.name, verdict: 'error' as CheckVerdict, message: describe(err) };
      }
    }),
  );
  const verdict = worstVerdict(hosts.map((h) => h.verdict));
  const versions = [...new Set(hosts.filter((h) => h.found).map((h) => h.found!))];
  const where = `each of ${hosts.length} host${hosts.length === 1 ? '' : 's'} (${source.kind})`;
  const found = versions.length === 1 ? { found: versions[0]!, raw: versions[0]!, where } : { where };
  if (verdict === 'pass') return { ...base, ...found, verdict, hosts, message: `${dep} satisfies "${range}" on every host: ${hosts.map((h) => `${h.host} ${h.found}`).join(', ')}` };
  const bad = hosts.filter((h) => h.verdict !== 'pass');
  return {
    ...base,
    ...found,
    verdict,
    hosts,
    message: bad.map((h) => h.message).join('; '),
    hint:
      verdict === 'fail'
        ? `upgrade ${dep} on ${bad.filter((h) => h.verdict === 'fail').map((h) => h.host).join(', ')} to a version in ${range} (greenlight change), or release a version of ${ctx.service} that supports what they run`
        : `make ${bad.map((h) => h.host).join(', ')} reachable and able to report ${dep}'s version`,
  };
}
