// Traffic provider kinds by name: `traffic: { kind: builtin }` (default: Greenlight's own router,
// configured under `router:`) or `traffic: { kind: haproxy, socket, backend, map, url }` (a team's
// HAProxy, driven through its runtime API). Adding a kind is one register() call here.
import { z } from 'zod';
import type { Clock } from '../clock/clock.ts';
import { GreenlightError } from '../errors/errors.ts';
import { haproxyTrafficSchema, type HaproxyTrafficConfig } from './haproxy/config.ts';
import { HaproxyProvider } from './haproxy/provider.ts';
import type { TrafficProvider } from './provider.ts';

export const builtinTrafficSchema = z.strictObject({ kind: z.literal('builtin') });

export interface TrafficDeps {
  clock: Clock;
  /** the environment's built-in router (the controller starts and supervises it) */
  builtin: () => TrafficProvider;
}

export interface TrafficKind<C extends { kind: string }> {
  kind: string;
  configSchema: z.ZodType<C, any>;
  create(config: C, deps: TrafficDeps): TrafficProvider;
}

const kinds = new Map<string, TrafficKind<any>>();
function register<C extends { kind: string }>(k: TrafficKind<C>): void {
  if (kinds.has(k.kind)) throw new GreenlightError('CONFLICT', `traffic kind "${k.kind}" is registered twice`);
  kinds.set(k.kind, k);
}

register<z.output<typeof builtinTrafficSchema>>({ kind: 'builtin', configSchema: builtinTrafficSchema, create: (_c, deps) => deps.builtin() });
register<HaproxyTrafficConfig>({ kind: 'haproxy', configSchema: haproxyTrafficSchema, create: (c, deps) => new HaproxyProvider(c, { clock: deps.clock }) });

/** `traffic:` of an environment, for config/components.ts to compose */
export const trafficConfigSchema = z.discriminatedUnion('kind', [builtinTrafficSchema, haproxyTrafficSchema]);
export type TrafficConfig = z.output<typeof trafficConfigSchema>;
export const defaultTraffic: TrafficConfig = { kind: 'builtin' };

/** config: the environment's `traffic:`, already validated by config/ */
export function createTrafficProvider(config: TrafficConfig, deps: TrafficDeps): TrafficProvider {
  const kind = kinds.get(config.kind);
  if (!kind) throw new GreenlightError('CONFIG_INVALID', `unknown traffic kind ${JSON.stringify(config.kind)}`, { hint: `use one of: ${[...kinds.keys()].join(', ')}` });
  return kind.create(config, deps);
}
