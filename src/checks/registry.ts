// Check kinds by name. The config module composes `checkSpecSchema` into greenlight.yaml's
// top-level `checks:` map; the composition root turns each parsed entry into a Check with
// `createCheck`. Adding a kind is one entry here.
import type { z } from 'zod';
import { kind, Registry, type SpecOf } from '../registry/registry.ts';
import type { Check, CheckPhase } from './check.ts';
import { commandCheckSchema, createCommandCheck } from './command/command-check.ts';
import { compatibilityCheckSchema, createCompatibilityCheck } from './compatibility/compatibility-check.ts';
import { createHttpCheck, httpCheckSchema } from './http/http-check.ts';

/** what a check is built with besides its config */
interface CheckDeps {
  name: string;
}

// defaultPhase: the phase a check of this kind runs in when its config does not say
const entries = {
  http: { ...kind(httpCheckSchema, (spec, d: CheckDeps): Check => createHttpCheck(d.name, spec)), defaultPhase: 'post' as CheckPhase },
  command: { ...kind(commandCheckSchema, (spec, d: CheckDeps): Check => createCommandCheck(d.name, spec)), defaultPhase: 'pre' as CheckPhase },
  compatibility: { ...kind(compatibilityCheckSchema, (spec, d: CheckDeps): Check => createCompatibilityCheck(d.name, spec)), defaultPhase: 'pre' as CheckPhase },
};

export const checkKinds = new Registry('check', entries);

export const checkSpecSchema = checkKinds.schema();

/** One check's config after parsing with checkSpecSchema. */
export type CheckSpec = SpecOf<typeof entries>;
/** One check's config as written in greenlight.yaml. */
export type CheckSpecInput = z.input<typeof checkSpecSchema>;

export function createCheck(name: string, spec: CheckSpec): Check {
  return checkKinds.create(spec, { name }, `check "${name}"`);
}

/** Parses raw config (e.g. from a test or the API) and builds the check; config errors name the fields. */
export function parseCheck(name: string, raw: unknown): Check {
  return createCheck(name, checkKinds.parse(raw, `checks.${name}`, `check "${name}"`));
}
