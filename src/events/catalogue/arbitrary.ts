// Random valid catalogue events for property tests: data drawn from each type's own zod schema,
// from small pools of names (two deployments, two environments, ...) so that random sequences
// meet the same deployment again, as real logs do. Seeded: a failing seed replays exactly.
import type { z } from 'zod';
import { definitions, validateEvent, type NewCatalogueEvent } from './index.ts';
import { seededRandom } from '../../analysis/simulation.ts';

/** the project's one seeded PRNG (mulberry32), so a seed gives the same events everywhere */
export const random = seededRandom;

const POOLS: Record<string, readonly string[]> = {
  deploymentId: ['d1', 'd2'],
  environment: ['staging', 'production'],
  service: ['web'],
  version: ['1.0.0', '2.0.0'],
  incidentId: ['i1', 'i2'],
};
const WORDS = ['web', 'x', 'production', 'analysis failed', '', '2.0.0', 'user:ann', 'a "quoted" | piped\nline'];

interface Def {
  type: string;
  [k: string]: unknown;
}
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

function value(s: z.ZodType, rnd: () => number, key: string, depth: number): unknown {
  const d = defOf(s);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  switch (d.type) {
    case 'string':
      return POOLS[key] ? pick(POOLS[key]) : pick(WORDS.filter((w) => w !== '')) ;
    case 'number':
      return Math.floor(rnd() * 200);
    case 'nan':
      return Number.NaN;
    case 'boolean':
      return rnd() < 0.5;
    case 'enum':
      return pick(Object.values(d.entries as Record<string, string>));
    case 'literal':
      return pick(d.values as unknown[]);
    case 'optional':
      return rnd() < 0.5 ? undefined : value(d.innerType as z.ZodType, rnd, key, depth);
    case 'nullable':
      return rnd() < 0.2 ? null : value(d.innerType as z.ZodType, rnd, key, depth);
    case 'union':
      return value(pick(d.options as z.ZodType[]), rnd, key, depth);
    case 'array':
      return depth > 3 ? [] : Array.from({ length: Math.floor(rnd() * 3) }, () => value(d.element as z.ZodType, rnd, key, depth + 1));
    case 'record':
      return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 3) }, (_, i) => [`k${i}`, value(d.valueType as z.ZodType, rnd, key, depth + 1)]));
    case 'object':
      return object(d.shape as Record<string, z.ZodType>, rnd, depth + 1);
    default:
      return {}; // unknown: any JSON
  }
}

function object(shape: Record<string, z.ZodType>, rnd: () => number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(shape)) {
    const v = value(s, rnd, k, depth);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** One random event of a random catalogue type; valid by construction, and checked. */
export function arbitraryEvent(rnd: () => number, time: number): NewCatalogueEvent {
  const def = definitions[Math.floor(rnd() * definitions.length)]!;
  let last: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    const data = object(defOf(def.data).shape as Record<string, z.ZodType>, rnd, 0);
    const e = { type: def.type, actor: rnd() < 0.5 ? 'controller' : 'user:ann', subject: `deployment/${POOLS.deploymentId![Math.floor(rnd() * 2)]}`, data, time };
    try {
      return validateEvent(e);
    } catch (err) {
      last = err; // a refinement the generator does not know: draw again
    }
  }
  throw new Error(`cannot draw a valid ${def.type} in 50 attempts: ${String(last)}`);
}
