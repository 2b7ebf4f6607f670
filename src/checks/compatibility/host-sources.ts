// Dependency versions read on every host of a fleet, not once per environment: the 3 June outage
// was servers that did not all run what the release needed. `host_command` runs a command over
// SSH on each host (a package query, `acme-auth --version`); `host_http` asks an endpoint on each
// host ({address} and {host} in the URL are the host's). A version that cannot be read on a host
// is an error naming that host, never a guess.
import semver from 'semver';
import type { Clock } from '../../clock/clock.ts';
import { formatDuration } from '../../config/duration.ts';
import { GreenlightError, describe } from '../../errors/errors.ts';
import type { Fleet, FleetHost } from '../../fleet/fleet.ts';
import { snippet } from '../json-path.ts';
import { createDependencySource, type DependencyVersion } from './sources.ts';
import type { HostDependencySource } from './host-source-schema.ts';

export { hostCommandSourceSchema, hostHttpSourceSchema, type HostDependencySource } from './host-source-schema.ts';

export function isHostSource(spec: { kind: string }): spec is HostDependencySource {
  return spec.kind === 'host_command' || spec.kind === 'host_http';
}

export interface HostVersion extends DependencyVersion {
  host: string;
}

/** Reads the dependency's version on one host; DEPENDENCY_UNREADABLE naming the host when it cannot. */
export async function readOnHost(dependency: string, spec: HostDependencySource, fleet: Fleet, host: FleetHost, opts: { clock: Clock; signal?: AbortSignal; timeoutMs?: number }): Promise<HostVersion> {
  const timeoutMs = Math.min(spec.timeout ?? 5000, opts.timeoutMs ?? Infinity);
  if (spec.kind === 'host_http') {
    const url = spec.url.replaceAll('{address}', host.address.includes(':') ? `[${host.address}]` : host.address).replaceAll('{host}', host.name);
    try {
      const read = await createDependencySource(dependency, { kind: 'http', url, ...(spec.field ? { field: spec.field } : {}), ...(spec.headers ? { headers: spec.headers } : {}), timeout: timeoutMs, ...(spec.loose ? { loose: true } : {}) }).read(opts);
      return { ...read, host: host.name, where: `${host.name}: ${read.where}` };
    } catch (err) {
      throw onHost(err, host);
    }
  }
  const problem = (what: string, retryable: boolean, hint: string) =>
    new GreenlightError('DEPENDENCY_UNREADABLE', `${dependency} version on host ${host.name} (command "${spec.command}"): ${what}`, { retryable, hint, data: { dependency, host: host.name, kind: 'host_command' } });
  let r;
  try {
    r = await fleet.exec(host.name, spec.command, { timeoutMs });
  } catch (err) {
    throw problem(describe(err), true, err instanceof GreenlightError && err.hint ? err.hint : `check that ${host.name} is reachable`);
  }
  if (r.code !== 0) throw problem(`it exited with ${r.code}${r.stderr.trim() ? `: ${snippet(r.stderr.trim())}` : ''}`, false, `the command should print the version and exit 0 on ${host.name}`);
  let raw = r.stdout.trim();
  if (spec.match) {
    const m = new RegExp(spec.match).exec(r.stdout);
    if (!m || m[1] === undefined) throw problem(`its output does not match /${spec.match}/: ${snippet(r.stdout)}`, false, 'adjust "match" so its first group captures the version');
    raw = m[1].trim();
  }
  if (raw === '') throw problem(`it printed nothing (within ${formatDuration(timeoutMs)})`, false, 'the command should print the version');
  const version = semver.valid(raw) ?? (spec.loose ? semver.coerce(raw)?.version ?? null : null);
  if (!version) throw problem(`${JSON.stringify(raw.slice(0, 80))} is not a valid semver version`, false, 'report a version such as 2.4.1, or set loose: true');
  return { dependency, version, raw, where: `${host.name}: command "${spec.command}"`, host: host.name };
}

function onHost(err: unknown, host: FleetHost): unknown {
  if (!(err instanceof GreenlightError) || err.message.includes(host.name)) return err;
  return new GreenlightError(err.code, `on host ${host.name}: ${err.message}`, { retryable: err.retryable, ...(err.hint ? { hint: err.hint } : {}), data: { ...err.data, host: host.name } });
}
