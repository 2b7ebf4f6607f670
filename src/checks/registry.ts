// Check kinds by name. The config module composes `checkSpecSchema` into greenlight.yaml's
// top-level `checks:` map; the composition root turns each parsed entry into a Check with
// `createCheck`. Adding a kind is one entry here and one schema in the union.
import { z } from 'zod';
import { GreenlightError } from '../errors/errors.ts';
import type { Check, CheckPhase } from './check.ts';
import { commandCheckSchema, createCommandCheck } from './command/command-check.ts';
import { compatibilityCheckSchema, createCompatibilityCheck } from './compatibility/compatibility-check.ts';
import { createHttpCheck, httpCheckSchema } from './http/http-check.ts';

export interface CheckKind<S extends z.ZodType> {
  /** the config shape of this kind (strict; durations parse to milliseconds) */
  schema: S;
  /** builds a check from its parsed config */
  create(name: string, spec: z.output<S>): Check;
  /** the phase a check of this kind runs in when its config does not say */
  defaultPhase: CheckPhase;
}

export const checkKinds: {
  http: CheckKind<typeof httpCheckSchema>;
  command: CheckKind<typeof commandCheckSchema>;
  compatibility: CheckKind<typeof compatibilityCheckSchema>;
} = {
  http: { schema: httpCheckSchema, create: createHttpCheck, defaultPhase: 'post' },
  command: { schema: commandCheckSchema, create: createCommandCheck, defaultPhase: 'pre' },
  compatibility: { schema: compatibilityCheckSchema, create: createCompatibilityCheck, defaultPhase: 'pre' },
};

export const checkSpecSchema = z.discriminatedUnion('kind', [httpCheckSchema, commandCheckSchema, compatibilityCheckSchema]);

/** One check's config after parsing with checkSpecSchema. */
export type CheckSpec = z.output<typeof checkSpecSchema>;
/** One check's config as written in greenlight.yaml. */
export type CheckSpecInput = z.input<typeof checkSpecSchema>;

export function createCheck(name: string, spec: CheckSpec): Check {
  const kind = (checkKinds as Record<string, CheckKind<z.ZodType<CheckSpec>> | undefined>)[spec.kind];
  if (!kind) {
    throw new GreenlightError('CONFIG_INVALID', `check "${name}" has unknown kind "${spec.kind}"`, {
      hint: `use one of: ${Object.keys(checkKinds).join(', ')}`,
    });
  }
  return kind.create(name, spec);
}

/** Parses raw config (e.g. from a test or the API) and builds the check; config errors name the fields. */
export function parseCheck(name: string, raw: unknown): Check {
  const parsed = checkSpecSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${['checks', name, ...i.path.map(String)].join('.')}: ${i.message}`);
    throw new GreenlightError('CONFIG_INVALID', `check "${name}" is not valid: ${fields.join('; ')}`, {
      hint: `fix the fields above; check kinds: ${Object.keys(checkKinds).join(', ')}`,
      data: { issues: parsed.error.issues },
    });
  }
  return createCheck(name, parsed.data);
}
