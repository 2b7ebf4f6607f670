// What runs where: for each host of an environment's fleet, the versions of the environment's
// declared dependencies (per-host sources), its OS, the releases it holds and runs; which releases
// each host can run; and drift (hosts that disagree, or differ from a declared desired version).
import semver from 'semver';
import type { Clock } from '../clock/clock.ts';
import { describe, GreenlightError } from '../errors/errors.ts';
import { isHostSource, readOnHost } from '../checks/compatibility/host-sources.ts';
import type { DependencySource } from '../checks/compatibility/sources.ts';
import type { Fleet, FleetHost } from '../fleet/fleet.ts';

export interface HostInventory {
  host: string;
  address: string;
  labels: Record<string, string>;
  reachable: boolean;
  /** when not reachable, what kind of failure it was, as the matrix and the `!` lines say it */
  failure?: string;
  error?: string;
  /** what to do about the error (an unknown host key: how to check and add it; a refused login: which key) */
  hint?: string;
  os?: string;
  kernel?: string;
  /** dependency -> version, or the error that kept it from being read */
  dependencies: Record<string, { version?: string; error?: string; where?: string }>;
  /** digests held under the host's releases directory */
  releases: string[];
  /** instances whose supervisor runs on the host, with the digest they run */
  running: { id: string; digest: string }[];
  /** how the ssh target keeps instances alive there: systemd units or Greenlight's supervisor */
  supervisor?: { kind: 'systemd' | 'greenlight'; reason: string };
  /** why no supervisor can run instances there (e.g. supervisor: systemd on a host without systemd) */
  supervisorError?: { message: string; hint?: string };
}

export interface EnvironmentInventory {
  environment: string;
  at: number;
  hosts: HostInventory[];
  drift: Drift[];
}

export interface Drift {
  dependency: string;
  /** disagree: hosts run different versions; desired: some host differs from the declared version */
  kind: 'disagree' | 'desired';
  desired?: string;
  versions: Record<string, string[]>;
  message: string;
}

export interface ReleaseRef {
  service: string;
  version: string;
  digest: string;
  requires: Record<string, string>;
}

export async function collectInventory(
  environment: string,
  fleet: Fleet,
  dependencies: Record<string, DependencySource>,
  opts: { clock: Clock; timeoutMs?: number },
): Promise<EnvironmentInventory> {
  const hostDeps = Object.entries(dependencies).filter(([, s]) => isHostSource(s));
  const hosts = await Promise.all(fleet.hosts().map((h) => collectHost(h, fleet, hostDeps, opts)));
  return { environment, at: opts.clock.now(), hosts, drift: findDrift(hosts, dependencies) };
}

async function collectHost(h: FleetHost, fleet: Fleet, deps: [string, DependencySource][], opts: { clock: Clock; timeoutMs?: number }): Promise<HostInventory> {
  const out: HostInventory = { host: h.name, address: h.address, labels: h.labels, reachable: true, dependencies: {}, releases: [], running: [] };
  try {
    const os = await fleet.exec(h.name, `. /etc/os-release 2>/dev/null; echo "\${PRETTY_NAME:-unknown}"; uname -r`, { timeoutMs: opts.timeoutMs ?? 10_000 });
    const [name, kernel] = os.stdout.trim().split('\n');
    out.os = name ?? 'unknown';
    if (kernel) out.kernel = kernel;
  } catch (err) {
    out.reachable = false;
    out.failure = failureOf(err);
    out.error = describe(err);
    if (err instanceof GreenlightError && err.hint) out.hint = err.hint;
    return out;
  }
  await Promise.all(
    deps.map(async ([dep, spec]) => {
      if (!isHostSource(spec)) return;
      try {
        const v = await readOnHost(dep, spec, fleet, h, { clock: opts.clock, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
        out.dependencies[dep] = { version: v.version, where: v.where };
      } catch (err) {
        out.dependencies[dep] = { error: describe(err) };
      }
    }),
  );
  try {
    out.releases = await fleet.releasesOn(h.name);
    out.running = await fleet.running(h.name);
  } catch (err) {
    out.error = describe(err);
    if (err instanceof GreenlightError && err.hint) out.hint = err.hint;
  }
  // a host nothing can be started on is a host problem, shown as one (not a "-" in a column)
  try {
    out.supervisor = await fleet.supervisor(h.name);
  } catch (err) {
    out.supervisorError = { message: describe(err), ...(err instanceof GreenlightError && err.hint ? { hint: err.hint } : {}) };
  }
  return out;
}

/**
 * Not every host that could not be asked is unreachable: a refused host key, a refused login or a
 * key file that is not a key are answers (or our own config), and "unreachable" would send a person
 * to look at the network.
 */
function failureOf(err: unknown): string {
  const code = err instanceof GreenlightError ? err.code : undefined;
  switch (code) {
    case 'HOST_UNREACHABLE':
      return 'unreachable';
    case 'HOST_KEY_REJECTED':
      return 'host key refused';
    case 'HOST_AUTH_REFUSED':
      return 'login refused';
    case 'CONFIG_INVALID':
      return 'not asked (config)';
    default:
      return 'not asked';
  }
}

/**
 * What makes `greenlight inventory` exit non-zero, one line each: drift, an unreachable host, a
 * host that could not be read or can run no instance, a version that could not be read (a version
 * nobody could read is not known to be right).
 */
export function inventoryProblems(inv: EnvironmentInventory): string[] {
  const out: string[] = [];
  for (const h of inv.hosts) {
    if (!h.reachable) out.push(`${h.host} ${h.failure ?? 'unreachable'}: ${h.error ?? ''}`);
    else if (h.error) out.push(`${h.host}: ${h.error}`);
    if (h.supervisorError) out.push(`${h.host} supervisor: ${h.supervisorError.message}`);
    for (const [d, v] of Object.entries(h.dependencies)) if (v.error) out.push(`${h.host} ${d}: ${v.error}`);
  }
  for (const d of inv.drift) out.push(`drift: ${d.message}`);
  return out;
}

export function findDrift(hosts: HostInventory[], dependencies: Record<string, DependencySource>): Drift[] {
  const drift: Drift[] = [];
  for (const [dep, spec] of Object.entries(dependencies)) {
    if (!isHostSource(spec)) continue;
    const versions: Record<string, string[]> = {};
    for (const h of hosts) {
      const v = h.dependencies[dep]?.version;
      if (v) (versions[v] ??= []).push(h.host);
    }
    const seen = Object.keys(versions);
    const desired = spec.desired;
    if (desired && seen.some((v) => v !== desired)) {
      const off = seen.filter((v) => v !== desired).map((v) => `${versions[v]!.join(', ')} on ${v}`);
      drift.push({ dependency: dep, kind: 'desired', desired, versions, message: `${dep} should be ${desired} everywhere; ${off.join('; ')}` });
    } else if (seen.length > 1) {
      drift.push({ dependency: dep, kind: 'disagree', versions, message: `hosts disagree on ${dep}: ${seen.map((v) => `${v} on ${versions[v]!.join(', ')}`).join('; ')}` });
    }
  }
  return drift;
}

/** whether the host's dependency versions meet the release's requirements, with the reasons if not */
export function canRun(host: HostInventory, release: ReleaseRef, dependencies: Record<string, DependencySource>): { ok: boolean; reasons: string[] } {
  const reasons: string[] = [];
  for (const [dep, range] of Object.entries(release.requires)) {
    const spec = dependencies[dep];
    if (!spec || !isHostSource(spec)) continue; // read once per environment, not per host: the gate checks it
    const v = host.dependencies[dep];
    if (!v?.version) reasons.push(`${dep} unknown${v?.error ? ` (${v.error})` : ''}`);
    else if (!semver.satisfies(v.version, range)) reasons.push(`${host.host} runs ${dep} ${v.version}; ${release.service}@${release.version} needs ${range}`);
  }
  return { ok: reasons.length === 0, reasons };
}

/** the hosts x dependencies matrix, then which releases each host can run, then drift */
export function formatInventory(inv: EnvironmentInventory, releases: ReleaseRef[], dependencies: Record<string, DependencySource>, safe: (s: string) => string = (s) => s): string {
  const deps = Object.keys(dependencies).filter((d) => isHostSource(dependencies[d]!));
  const names = (digests: string[]) => digests.map((d) => releases.find((r) => r.digest === d)).map((r, i) => (r ? `${r.service}@${r.version}` : digests[i]!.slice(7, 19)));
  const header = ['host', 'address', ...deps, 'os', 'supervisor', 'holds', 'runs'];
  const rows = inv.hosts.map((h) => [
    h.host,
    h.address,
    ...deps.map((d) => (h.reachable ? h.dependencies[d]?.version ?? 'unreadable' : h.failure ?? 'unreachable')),
    h.os ?? '-',
    h.supervisor?.kind ?? (h.supervisorError ? 'error' : '-'),
    [...new Set(names(h.releases))].join(' ') || '-',
    [...new Set(names(h.running.map((r) => r.digest)))].join(' ') || '-',
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => safe(c).padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [`environment ${safe(inv.environment)}`, line(header), ...rows.map(line)];
  if (releases.length > 0) {
    out.push('', 'can run:');
    for (const h of inv.hosts) {
      const verdicts = releases.map((r) => {
        const c = canRun(h, r, dependencies);
        return c.ok ? `${r.service}@${r.version} yes` : `${r.service}@${r.version} no (${c.reasons.join('; ')})`;
      });
      out.push(`  ${safe(h.host)}: ${safe(verdicts.join(', '))}`);
    }
  }
  for (const h of inv.hosts) {
    if (!h.reachable) out.push(`! ${safe(h.host)} ${h.failure ?? 'unreachable'}: ${safe(h.error ?? '')}`);
    if (!h.reachable && h.hint) out.push(`  hint: ${safe(h.hint)}`);
    if (h.reachable && h.error) out.push(`! ${safe(h.host)}: ${safe(h.error)}`);
    if (h.reachable && h.error && h.hint) out.push(`  hint: ${safe(h.hint)}`);
    if (h.supervisorError) out.push(`! ${safe(h.host)} supervisor: ${safe(h.supervisorError.message)}`);
    if (h.supervisorError?.hint) out.push(`  hint: ${safe(h.supervisorError.hint)}`);
    for (const [d, v] of Object.entries(h.dependencies)) if (v.error) out.push(`! ${safe(h.host)} ${safe(d)}: ${safe(v.error)}`);
  }
  for (const d of inv.drift) out.push(`drift: ${safe(d.message)}`);
  return out.join('\n');
}
