import { cp, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import semver from 'semver';
import { GreenlightError } from '../errors/errors.ts';
import type { EventLog } from '../events/log.ts';
import type { Config } from '../config/schema.ts';
import { digestDirectory, shortDigest } from './digest.ts';
import { inspectArtifact } from './artifact.ts';

export interface RegisterRequest {
  service: string;
  version: string;
  /** path of the artifact directory on this machine */
  artifact: string;
  /** dependency -> semver range, from --requires; merged over the artifact's requirements file */
  requires?: Record<string, string>;
  actor: string;
}

export interface Release {
  service: string;
  version: string;
  digest: string;
  /** Greenlight's own immutable copy of the artifact */
  artifactDir: string;
  source: string;
  requires: Record<string, string>;
  registeredAt: number;
  registeredBy: string;
}

/**
 * Registers an immutable release: the artifact is copied into the state directory under its
 * digest, so what was tested in staging is byte for byte what production runs.
 */
export async function registerRelease(
  req: RegisterRequest,
  deps: { config: Config; stateDir: string; events: EventLog; state: () => Promise<{ releases: ReadonlyMap<string, Release> }> },
): Promise<{ release: Release; created: boolean }> {
  // Own keys only: "__proto__" or "constructor" must not reach Object.prototype.
  const service = Object.hasOwn(deps.config.services, req.service) ? deps.config.services[req.service] : undefined;
  if (!service) {
    throw new GreenlightError('NOT_FOUND', `unknown service "${req.service}"`, { hint: `services in the config: ${Object.keys(deps.config.services).join(', ')}` });
  }
  if (!semver.valid(req.version)) {
    throw new GreenlightError('USAGE', `"${req.version}" is not a semantic version`, { hint: 'use a version like 2.0.0 or 2.0.0-rc.1' });
  }
  const source = resolve(req.artifact);
  const st = await stat(source).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new GreenlightError('ARTIFACT_MISSING', `artifact ${source} ${st ? 'is not a directory' : 'does not exist'}`, { hint: 'pass --artifact <directory> holding the built service' });
  }
  await inspectArtifact(source, { stateDir: deps.stateDir, maxBytes: deps.config.releases.max_artifact_size, maxEntries: deps.config.releases.max_artifact_files });
  const { digest } = await digestDirectory(source);
  const fileRequires = await readRequirements(join(source, service.requirements_file));
  const requires = { ...fileRequires, ...(req.requires ?? {}) };
  for (const [dep, range] of Object.entries(requires)) {
    if (!semver.validRange(range)) {
      throw new GreenlightError('USAGE', `requirement ${dep}@"${range}" is not a valid semver range`, { hint: 'e.g. --requires "acme-auth@>=3.0.0 <4"' });
    }
  }
  const existing = (await deps.state()).releases.get(`${req.service}@${req.version}`);
  if (existing) {
    if (existing.digest === digest && sameRequires(existing.requires, requires)) return { release: existing, created: false };
    throw new GreenlightError('CONFLICT', `${req.service}@${req.version} is already registered with digest ${shortDigest(existing.digest)}; this artifact has ${shortDigest(digest)}`, {
      hint: 'releases are immutable: register the change as a new version',
    });
  }
  const artifactDir = join(deps.stateDir, 'artifacts', req.service, `${req.version}-${shortDigest(digest)}`);
  await rm(artifactDir, { recursive: true, force: true });
  await mkdir(artifactDir, { recursive: true });
  await cp(source, artifactDir, { recursive: true, verbatimSymlinks: true });
  const copied = await digestDirectory(artifactDir);
  if (copied.digest !== digest) {
    throw new GreenlightError('CONFLICT', `artifact ${source} changed while it was being registered`, { retryable: true, hint: 'run the command again once the build has finished writing' });
  }
  const event = await deps.events.append({
    type: 'release.registered',
    actor: req.actor,
    subject: `release/${req.service}@${req.version}`,
    data: { service: req.service, version: req.version, digest, artifactDir, source, requires },
  });
  return {
    release: { service: req.service, version: req.version, digest, artifactDir, source, requires, registeredAt: event.time, registeredBy: req.actor },
    created: true,
  };
}

async function readRequirements(file: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new GreenlightError('USAGE', `${file} is not valid JSON: ${(err as Error).message}`, { hint: 'expected {"requires": {"dependency": "semver range"}}' });
  }
  const requires = (parsed as { requires?: unknown }).requires;
  if (requires === undefined) return {};
  if (typeof requires !== 'object' || requires === null || Object.values(requires).some((v) => typeof v !== 'string')) {
    throw new GreenlightError('USAGE', `${file}: "requires" must map dependency names to semver ranges`, { hint: 'e.g. {"requires": {"acme-auth": ">=3.0.0 <4"}}' });
  }
  return requires as Record<string, string>;
}

function sameRequires(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/** Parses "name@range" as given to --requires (the range may itself contain "@"-free spaces). */
export function parseRequirement(text: string): [string, string] {
  const at = text.indexOf('@', 1);
  if (at < 0) throw new GreenlightError('USAGE', `--requires "${text}" must look like name@range`, { hint: 'e.g. --requires "acme-auth@>=3.0.0 <4"' });
  return [text.slice(0, at), text.slice(at + 1)];
}
