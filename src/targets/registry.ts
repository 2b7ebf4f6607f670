// Target kinds by name. The composition root calls createTarget(environment.target, deps); the
// config module composes targetConfigSchema. Adding a kind (kubernetes) is one entry here, not a
// branch in core code.
import { kind, Registry } from '../registry/registry.ts';
import { localTargetConfigSchema } from './local/config.ts';
import { LocalTarget } from './local/local-target.ts';
import { sshTargetConfigSchema } from './ssh/config.ts';
import { SshTarget } from './ssh/ssh-target.ts';
import type { Target, TargetDeps } from './target.ts';

export const targetKinds = new Registry('target', {
  local: kind(localTargetConfigSchema, (config, deps: TargetDeps): Target => new LocalTarget(config, deps)),
  ssh: kind(sshTargetConfigSchema, (config, deps: TargetDeps): Target => new SshTarget(config, deps)),
});

/** `target:` of an environment, for config/components.ts to compose */
export const targetConfigSchema = targetKinds.schema();
export { localTargetConfigSchema };

/** config: the `target:` object, raw or already parsed by targetConfigSchema */
export function createTarget(config: unknown, deps: TargetDeps, opts: { parsed?: boolean } = {}): Target {
  // Config already validated by config/ has its durations turned into numbers: use it as is.
  const spec = opts.parsed ? (config as Parameters<typeof targetKinds.create>[0]) : targetKinds.parse(config, 'target');
  return targetKinds.create(spec, deps);
}
