// Target kinds by name. The composition root calls createTarget(environment.target, deps); the
// config module composes targetConfigSchema. Adding a kind (ssh, kubernetes) is one register()
// call here, not a branch in core code.
import { z } from 'zod';
import { GreenlightError } from '../errors/errors.ts';
import { localTargetConfigSchema } from './local/config.ts';
import { LocalTarget } from './local/local-target.ts';
import { sshTargetConfigSchema, type SshTargetConfig } from './ssh/config.ts';
import { SshTarget } from './ssh/ssh-target.ts';
import type { Target, TargetDeps } from './target.ts';

export interface TargetKind<C extends { kind: string } = { kind: string }> {
  kind: string;
  /** strict schema of `target:` for this kind, with defaults filled */
  configSchema: z.ZodType<C, any>;
  create(config: C, deps: TargetDeps): Target;
}

type AnyKindSchema = z.ZodObject<{ kind: z.ZodLiteral<string> } & z.ZodRawShape>;

export class TargetRegistry {
  private readonly kinds = new Map<string, TargetKind<any>>();

  register<C extends { kind: string }>(kind: TargetKind<C>): this {
    if (this.kinds.has(kind.kind)) throw new GreenlightError('CONFLICT', `target kind "${kind.kind}" is registered twice`);
    this.kinds.set(kind.kind, kind);
    return this;
  }

  kindNames(): string[] {
    return [...this.kinds.keys()];
  }

  /** the union of every registered kind's schema, discriminated by `kind` */
  configSchema(): z.ZodType<{ kind: string }, any> {
    const schemas = [...this.kinds.values()].map((k) => k.configSchema as unknown as AnyKindSchema);
    if (schemas.length === 0) throw new GreenlightError('INTERNAL', 'no target kinds registered');
    return z.discriminatedUnion('kind', schemas as [AnyKindSchema, ...AnyKindSchema[]]) as unknown as z.ZodType<{ kind: string }, any>;
  }

  /** config: the `target:` object, raw or already parsed by configSchema() */
  create(config: unknown, deps: TargetDeps, opts: { parsed?: boolean } = {}): Target {
    const kindName = (config as { kind?: unknown } | null)?.kind;
    const kind = typeof kindName === 'string' ? this.kinds.get(kindName) : undefined;
    if (!kind) {
      throw new GreenlightError('CONFIG_INVALID', `unknown target kind ${JSON.stringify(kindName)}`, {
        hint: `use one of: ${this.kindNames().join(', ')}`,
        data: { field: 'target.kind', known: this.kindNames() },
      });
    }
    // Config already validated by config/ has its durations turned into numbers: use it as is.
    if (opts.parsed) return kind.create(config as { kind: string }, deps);
    const parsed = kind.configSchema.safeParse(config);
    if (!parsed.success) {
      throw new GreenlightError('CONFIG_INVALID', `invalid ${kind.kind} target: ${z.prettifyError(parsed.error)}`, {
        hint: 'fix the environment\'s target: section',
        data: { issues: parsed.error.issues },
      });
    }
    return kind.create(parsed.data, deps);
  }
}

export const localTargetKind: TargetKind<z.output<typeof localTargetConfigSchema>> = {
  kind: 'local',
  configSchema: localTargetConfigSchema,
  create: (config, deps) => new LocalTarget(config, deps),
};

export const sshTargetKind: TargetKind<SshTargetConfig> = {
  kind: 'ssh',
  configSchema: sshTargetConfigSchema,
  create: (config, deps) => new SshTarget(config, deps),
};

export const targetRegistry = new TargetRegistry().register(localTargetKind).register(sshTargetKind);

/** `target:` of an environment, for config/components.ts to compose */
export const targetConfigSchema = targetRegistry.configSchema();
export { localTargetConfigSchema };

export function createTarget(config: unknown, deps: TargetDeps, opts: { parsed?: boolean } = {}): Target {
  return targetRegistry.create(config, deps, opts);
}
