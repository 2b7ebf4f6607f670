// Where an environment reads the running version of a third-party dependency (the auth service of
// the 3 June outage, a database, a payment API). Sources are picked by `kind` from the registry
// below. A source that cannot give a clean semver version throws DEPENDENCY_UNREADABLE naming the
// dependency, the place and what was wrong: a compatibility gate must never guess a version, so
// semver.coerce is used only when the config says `loose: true`.
import semver from 'semver';
import { z } from 'zod';
import type { Clock } from '../../clock/clock.ts';
import { duration, formatDuration } from '../../config/duration.ts';
import { GreenlightError } from '../../errors/errors.ts';
import { describeCommand, runCommand, CommandStartError } from '../command/process.ts';
import { httpRequest, HttpRequestError } from '../http/request.ts';
import { pickJsonPath, snippet } from '../json-path.ts';
import { kind, Registry } from '../../registry/registry.ts';
import { hostCommandSourceSchema, hostHttpSourceSchema, type HostDependencySource } from './host-source-schema.ts';

const looseField = z.boolean().optional().describe('accept versions like "2.4" or "v2.4.1-build7" by coercing them to semver (off by default: an unclear version is an error)');
const timeoutField = duration.optional().describe('default 5s');

export const httpSourceSchema = z.strictObject({
  kind: z.literal('http'),
  url: z.string().regex(/^https?:\/\/\S+$/, { message: 'expected an http:// or https:// URL' }),
  field: z.string().min(1).optional().describe('dotted path into a JSON body, e.g. "version" or "build.version"; absent: the whole body is the version as plain text'),
  headers: z.record(z.string(), z.string()).optional(),
  timeout: timeoutField,
  loose: looseField,
});

export const commandSourceSchema = z.strictObject({
  kind: z.literal('command'),
  command: z.union([z.string().min(1), z.array(z.string()).min(1)]),
  match: z
    .string()
    .refine(isRegexWithGroup, { message: 'match must be a regular expression with one capturing group, e.g. "version (\\\\S+)"' })
    .optional()
    .describe('a regular expression whose first group is the version; absent: trimmed stdout is the version'),
  timeout: timeoutField,
  loose: looseField,
});

export const fixedSourceSchema = z.strictObject({
  kind: z.literal('fixed'),
  version: z.string().min(1),
  loose: looseField,
});

/** what a source is built with besides its config */
interface SourceDeps {
  dependency: string;
}

export const dependencySourceKinds = new Registry('dependency source', {
  http: kind(httpSourceSchema, (spec, d: SourceDeps) => createHttpSource(d.dependency, spec)),
  command: kind(commandSourceSchema, (spec, d: SourceDeps) => createCommandSource(d.dependency, spec)),
  fixed: kind(fixedSourceSchema, (spec, d: SourceDeps) => createFixedSource(d.dependency, spec)),
  host_command: kind(hostCommandSourceSchema, (spec, d: SourceDeps) => createNoFleetSource(d.dependency, spec)),
  host_http: kind(hostHttpSourceSchema, (spec, d: SourceDeps) => createNoFleetSource(d.dependency, spec)),
});

export const dependencySourceSchema = dependencySourceKinds.schema();

/** A dependency's version source as parsed from config (durations already in milliseconds). */
export type DependencySource = z.output<typeof dependencySourceSchema>;
export type HttpSourceSpec = z.infer<typeof httpSourceSchema>;
export type CommandSourceSpec = z.infer<typeof commandSourceSchema>;
export type FixedSourceSpec = z.infer<typeof fixedSourceSchema>;

export interface DependencyVersion {
  dependency: string;
  /** normalised semver, e.g. "2.4.1" */
  version: string;
  /** what the source said, before normalising */
  raw: string;
  /** where it was read, for messages: 'http://127.0.0.1:7101/version, field "version"' */
  where: string;
}

export interface ReadOptions {
  clock: Clock;
  signal?: AbortSignal;
  /** an upper bound from the caller (e.g. the check's timeout); the source's own timeout also applies */
  timeoutMs?: number;
}

export interface DependencyVersionReader {
  readonly dependency: string;
  readonly kind: string;
  readonly where: string;
  read(opts: ReadOptions): Promise<DependencyVersion>;
}

const defaultTimeoutMs = 5000;

/** host sources are read per host (host-sources.ts); read as one version, there is no host to ask */
function createNoFleetSource(dependency: string, spec: HostDependencySource): DependencyVersionReader {
  return {
    dependency,
    kind: spec.kind,
    where: `each host (${spec.kind})`,
    async read() {
      throw new GreenlightError('DEPENDENCY_UNREADABLE', `${dependency} is read on each host (kind ${spec.kind}), but this environment's target has no hosts`, {
        hint: 'use target: { kind: ssh, hosts: [...] } for this environment, or a kind: http / command / fixed source',
        data: { dependency, kind: spec.kind },
      });
    },
  };
}

export function createDependencySource(dependency: string, spec: DependencySource): DependencyVersionReader {
  return dependencySourceKinds.create(spec, { dependency }, `the version source of ${dependency}`);
}

/** Reads one dependency's running version; throws GreenlightError DEPENDENCY_UNREADABLE when it cannot. */
export function readDependencyVersion(dependency: string, spec: DependencySource, opts: ReadOptions): Promise<DependencyVersion> {
  return createDependencySource(dependency, spec).read(opts);
}

function createHttpSource(dependency: string, spec: HttpSourceSpec): DependencyVersionReader {
  const where = spec.field === undefined ? `${spec.url}, plain-text body` : `${spec.url}, field "${spec.field}"`;
  const problem = (what: string, retryable: boolean, hint: string, cause?: unknown) =>
    unreadable(dependency, `at ${spec.url}`, what, { retryable, hint, cause, data: { kind: 'http', url: spec.url, field: spec.field } });
  return {
    dependency,
    kind: 'http',
    where,
    async read(opts) {
      const timeoutMs = Math.min(spec.timeout ?? defaultTimeoutMs, opts.timeoutMs ?? Infinity);
      let res;
      try {
        res = await httpRequest(spec.url, {
          headers: { accept: spec.field === undefined ? 'text/plain, */*' : 'application/json', ...spec.headers },
          timeoutMs,
          clock: opts.clock,
          signal: opts.signal,
          maxBodyBytes: 64 * 1024,
        });
      } catch (err) {
        if (err instanceof HttpRequestError) {
          if (err.reason === 'timeout') throw problem(`no answer within ${formatDuration(timeoutMs)}`, true, `check that ${spec.url} is up, or raise the source's timeout`, err);
          if (err.reason === 'aborted') throw problem('reading was cancelled', true, 'run the check again', err);
          throw problem(err.problem, true, `check that ${spec.url} is up and reachable from the controller`, err);
        }
        throw err;
      }
      if (res.status < 200 || res.status > 299) {
        throw problem(`HTTP ${res.status}${res.body.trim() ? ` with body ${snippet(res.body)}` : ''}`, res.status >= 500, `${spec.url} should answer 2xx with the running version`);
      }
      let raw: string;
      if (spec.field === undefined) {
        raw = res.body.trim();
        if (raw === '') throw problem('the body is empty', false, `${spec.url} should answer with the version as plain text, or set "field" if it answers JSON`);
      } else {
        let doc: unknown;
        try {
          doc = JSON.parse(res.body);
        } catch {
          throw problem(`the body is not JSON: ${snippet(res.body)}`, false, `${spec.url} should answer JSON with a "${spec.field}" field, or drop "field" if the body is the version as plain text`);
        }
        const found = pickJsonPath(doc, spec.field);
        if (found === undefined || found === null) {
          throw problem(`field "${spec.field}" is missing in ${snippet(res.body)}`, false, `point "field" at the member that holds the version`);
        }
        if (typeof found !== 'string' && typeof found !== 'number') {
          throw problem(`field "${spec.field}" is ${Array.isArray(found) ? 'an array' : typeof found === 'object' ? 'an object' : `a ${typeof found}`}, not a version: ${snippet(JSON.stringify(found))}`, false, `point "field" at the member that holds the version string`);
        }
        raw = String(found);
      }
      return { dependency, version: toSemver(raw, spec.loose, (what) => problem(what, false, looseHint(spec.loose))), raw, where };
    },
  };
}

function createCommandSource(dependency: string, spec: CommandSourceSpec): DependencyVersionReader {
  const shown = describeCommand(spec.command);
  const where = spec.match === undefined ? `command "${shown}"` : `command "${shown}", match /${spec.match}/`;
  const problem = (what: string, retryable: boolean, hint: string, cause?: unknown) =>
    unreadable(dependency, `from command "${shown}"`, what, { retryable, hint, cause, data: { kind: 'command', command: spec.command } });
  return {
    dependency,
    kind: 'command',
    where,
    async read(opts) {
      const timeoutMs = Math.min(spec.timeout ?? defaultTimeoutMs, opts.timeoutMs ?? Infinity);
      let run;
      try {
        run = await runCommand({ command: spec.command, timeoutMs, clock: opts.clock, signal: opts.signal, outputBytes: 16 * 1024, killGraceMs: 500 });
      } catch (err) {
        if (err instanceof CommandStartError) throw problem(`could not start it (${err.code ?? err.message})`, false, 'check the command and that it is installed on the controller', err);
        throw problem(`could not run it: ${(err as Error).message ?? String(err)}`, true, 'run the check again', err);
      }
      if (run.timedOut) throw problem(`it did not finish within ${formatDuration(timeoutMs)} and was killed`, true, "check the command, or raise the source's timeout");
      if (run.aborted) throw problem('reading was cancelled', true, 'run the check again');
      if (run.exitCode !== 0) {
        const err = run.stderr.text().trim();
        throw problem(`it exited with ${run.exitCode ?? run.exitSignal}${err ? `: ${snippet(err)}` : ''}`, false, 'the command should print the version and exit 0');
      }
      const out = run.stdout.text();
      let raw = out.trim();
      if (spec.match !== undefined) {
        const m = new RegExp(spec.match).exec(out);
        if (!m || m[1] === undefined) throw problem(`its output does not match /${spec.match}/: ${snippet(out)}`, false, 'adjust "match" so its first group captures the version');
        raw = m[1].trim();
      }
      if (raw === '') throw problem('it printed nothing', false, 'the command should print the version');
      return { dependency, version: toSemver(raw, spec.loose, (what) => problem(what, false, looseHint(spec.loose))), raw, where };
    },
  };
}

function createFixedSource(dependency: string, spec: FixedSourceSpec): DependencyVersionReader {
  const where = 'a fixed version in the environment config';
  return {
    dependency,
    kind: 'fixed',
    where,
    async read() {
      const version = toSemver(spec.version, spec.loose, (what) =>
        unreadable(dependency, 'in the environment config (kind: fixed)', what, { hint: looseHint(spec.loose), data: { kind: 'fixed' } }),
      );
      return { dependency, version, raw: spec.version, where };
    },
  };
}

function toSemver(raw: string, loose: boolean | undefined, problem: (what: string) => GreenlightError): string {
  const exact = semver.valid(raw.trim());
  if (exact) return exact;
  if (loose) {
    const coerced = semver.coerce(raw, { includePrerelease: true });
    if (coerced) return coerced.version;
    throw problem(`${JSON.stringify(snippetRaw(raw))} has no version number in it, even read loosely`);
  }
  throw problem(`${JSON.stringify(snippetRaw(raw))} is not a valid semver version`);
}

function looseHint(loose: boolean | undefined): string {
  return loose
    ? 'the source must report a version number such as 2.4.1'
    : 'the source must report a semver version such as 2.4.1; if it reports something like "2.4" or "v2.4.1-build7", set loose: true on this source to coerce it';
}

function unreadable(dependency: string, place: string, what: string, details: { retryable?: boolean; hint: string; cause?: unknown; data?: Record<string, unknown> }): GreenlightError {
  return new GreenlightError('DEPENDENCY_UNREADABLE', `${dependency} version ${place}: ${what}`, {
    retryable: details.retryable ?? false,
    hint: details.hint,
    cause: details.cause,
    data: { dependency, ...details.data },
  });
}

function snippetRaw(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function isRegexWithGroup(text: string): boolean {
  try {
    return new RegExp(`${text}|`).exec('')!.length > 1;
  } catch {
    return false;
  }
}
