// The building block of the catalogue: one event type, its data schema, its version and the
// upcasters that bring data written by an earlier version of Greenlight to the current one.
import { z } from 'zod';

/** Turns the data of an event written at version `from` into the data of version `from + 1`. */
export interface Upcaster {
  from: number;
  up: (data: Record<string, unknown>) => Record<string, unknown>;
}

export interface EventDefinition<T extends string = string, S extends z.ZodType = z.ZodType> {
  readonly type: T;
  /** the module that emits it, and the file of the catalogue it lives in */
  readonly owner: string;
  /** bumped whenever the data changes shape; stored with each event */
  readonly version: number;
  /** one sentence: what happened when this event is in the log */
  readonly meaning: string;
  readonly data: S;
  /** one per earlier version, in order: upcasters[0] is from 1 to 2 */
  readonly upcasters: readonly Upcaster[];
}

export function defineEvent<const T extends string, S extends z.ZodType>(d: {
  type: T;
  owner: string;
  meaning: string;
  data: S;
  version?: number;
  upcasters?: Upcaster[];
}): EventDefinition<T, S> {
  const upcasters = d.upcasters ?? [];
  const version = d.version ?? 1;
  if (version !== upcasters.length + 1 || upcasters.some((u, i) => u.from !== i + 1)) {
    throw new Error(`event ${d.type}: version ${version} needs one upcaster from each earlier version (1 .. ${version - 1}), in order`);
  }
  return { type: d.type, owner: d.owner, meaning: d.meaning, data: d.data, version, upcasters };
}

// Small shared pieces, so the same field means the same thing in every event.
export const str = z.string();
export const nonEmpty = z.string().min(1);
export const int = z.number().int();
export const count = z.number().int().nonnegative();
export const num = z.number();
/**
 * A measured figure: NaN when there was nothing to measure (a rate of zero requests). JSON has no
 * NaN, so the SQLite store gives it back as null: readers meet both.
 */
export const measured = z.number().or(z.nan()).nullable();
/** milliseconds since the epoch */
export const at = z.number().finite();
export const ms = z.number().finite().nonnegative();
export const labels = z.record(z.string(), z.string());
/** free-form details a module attaches (check details, router impact figures) */
export const details = z.record(z.string(), z.unknown());

/** the fields every event about one deployment carries */
export const deploymentRef = {
  deploymentId: nonEmpty,
  service: nonEmpty,
  version: nonEmpty,
};
