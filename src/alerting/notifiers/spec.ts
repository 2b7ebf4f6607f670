// Config fields every notifier kind shares, and what creating a notifier from its spec needs.
import { z } from 'zod';
import type { Clock } from '../../clock/clock.ts';
import { duration } from '../../config/duration.ts';
import { readFileSync, statSync } from 'node:fs';
import { GreenlightError } from '../../errors/errors.ts';

export const notifierName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*$/, { message: 'a notifier name must start with a lowercase letter and use only a-z, 0-9, "-" and "_"' });

export const retrySpec = z.strictObject({
  /** total attempts including the first */
  attempts: z.int().min(1).max(10).default(4),
  initial: duration.default(500),
  max: duration.default(30_000),
});

/** Fields on every kind: a name for events and logs, the per-attempt timeout and the retry policy. */
export const commonSpecFields = {
  name: notifierName.optional(),
  timeout: duration.default(10_000),
  retry: retrySpec.default({ attempts: 4, initial: 500, max: 30_000 }),
};

export const httpUrl = z.url({ protocol: /^https?$/, message: 'expected an http:// or https:// URL' });

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const envName = z.string().regex(ENV_NAME, { message: 'expected an environment variable name' });

/**
 * A secret given inline or, better, read from an environment variable (`{ env: NAME }`) or a file
 * (`{ file: /run/secrets/x }`, e.g. a mounted secret; its content, trailing newline dropped). Read
 * when used, never copied into events, logs or API answers.
 */
export const secretRef = z.union([z.string().min(1), z.strictObject({ env: envName }), z.strictObject({ file: z.string().min(1) })]);
export type SecretRef = z.output<typeof secretRef>;

export interface CreateDeps {
  clock: Clock;
  /** where `{ env: NAME }` secrets are read; process.env by default */
  env?: Record<string, string | undefined>;
}

export function readEnv(name: string, deps: CreateDeps, field: string): string {
  const value = (deps.env ?? process.env)[name];
  if (value === undefined || value === '') {
    throw new GreenlightError('CONFIG_INVALID', `${field}: environment variable ${name} is not set`, {
      hint: `export ${name} in the controller's environment, or put the value in the config`,
    });
  }
  return value;
}

export function resolveSecret(ref: SecretRef, deps: CreateDeps, field: string): string {
  if (typeof ref === 'string') return ref;
  if ('env' in ref) return readEnv(ref.env, deps, field);
  return readSecretFile(ref.file, field);
}

export function readSecretFile(file: string, field: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new GreenlightError('CONFIG_INVALID', `${field}: cannot read the secret file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'give the path of a file readable by the controller' });
  }
  if (!text) throw new GreenlightError('CONFIG_INVALID', `${field}: the secret file ${file} is empty`);
  // a secret readable by everyone on the machine is not one: say so (the value itself is never shown)
  if ((statSync(file).mode & 0o004) !== 0) process.emitWarning(`${field}: the secret file ${file} is readable by every user (chmod 600 it)`);
  return text;
}
