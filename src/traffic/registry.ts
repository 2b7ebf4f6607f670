// Traffic provider kinds by name: `traffic: { kind: builtin }` (default: Greenlight's own router,
// configured under `router:`) or `traffic: { kind: haproxy, socket, backend, map, url }` (a team's
// HAProxy, driven through its runtime API). Adding a kind is one entry here.
import { z } from 'zod';
import type { Clock } from '../clock/clock.ts';
import { kind, Registry, type SpecOf } from '../registry/registry.ts';
import { haproxyTrafficSchema } from './haproxy/config.ts';
import { HaproxyProvider } from './haproxy/provider.ts';
import type { TrafficProvider } from './provider.ts';

export const builtinTrafficSchema = z.strictObject({ kind: z.literal('builtin') });

export interface TrafficDeps {
  clock: Clock;
  /** the environment's built-in router (the controller starts and supervises it) */
  builtin: () => TrafficProvider;
}

export const trafficKinds = new Registry('traffic provider', {
  builtin: kind(builtinTrafficSchema, (_config, deps: TrafficDeps): TrafficProvider => deps.builtin()),
  haproxy: kind(haproxyTrafficSchema, (config, deps: TrafficDeps): TrafficProvider => new HaproxyProvider(config, { clock: deps.clock })),
});

/** `traffic:` of an environment, for config/components.ts to compose */
export const trafficConfigSchema = trafficKinds.schema();
export type TrafficConfig = SpecOf<typeof trafficKinds.kinds>;

/** config: the environment's `traffic:`, already validated by config/ */
export function createTrafficProvider(config: TrafficConfig, deps: TrafficDeps): TrafficProvider {
  return trafficKinds.create(config, deps, 'traffic');
}
