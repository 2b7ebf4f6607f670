// Adapters chosen by `kind`: one generic registry serves every kind family (targets, checks,
// dependency sources, notifiers, the event store). Each kind is listed once, as an entry keyed by
// its name whose schema says `kind: <that name>`; the config schema of the family is the union of
// the entries' schemas, and an unknown kind is refused with the known ones named.
import { z } from 'zod';
import { GreenlightError } from '../errors/errors.ts';

/** A kind's config: a strict zod object whose `kind` is the kind's name. */
export type KindSchema = z.ZodObject<{ kind: z.ZodType<string> } & z.ZodRawShape, z.core.$ZodObjectConfig>;

/** One kind: its config schema and what builds the adapter from its parsed config. */
export interface Kind<S extends KindSchema = KindSchema, D = never, T = unknown> {
  schema: S;
  create(spec: z.output<S>, deps: D): T;
}

/** Types a kind entry from its schema, so `create` sees this kind's parsed config (spread it to add a family's own fields). */
export function kind<S extends KindSchema, D, T>(schema: S, create: (spec: z.output<S>, deps: D) => T): Kind<S, D, T> {
  return { schema, create };
}

// the method form of Kind makes every entry assignable here, whatever its deps
type AnyKind = { schema: KindSchema; create(spec: never, deps: never): unknown };

/** The parsed config of any kind of the family. */
export type SpecOf<K extends Record<string, AnyKind>> = { [N in keyof K]: z.output<K[N]['schema']> }[keyof K];
/** The config of any kind as written in greenlight.yaml. */
export type InputOf<K extends Record<string, AnyKind>> = { [N in keyof K]: z.input<K[N]['schema']> }[keyof K];
// read from the entries' own create (not through AnyKind's, whose deps are `never`)
type DepsOf<K extends Record<string, AnyKind>> = K[keyof K] extends Kind<infer _S, infer D, unknown> ? D : never;
type MadeBy<K extends Record<string, AnyKind>> = K[keyof K] extends Kind<infer _S, never, infer T> ? T : never;

export class Registry<K extends Record<string, AnyKind>> {
  readonly family: string;
  readonly kinds: K;

  /** family: what the kinds are kinds of ("target", "check"), for messages */
  constructor(family: string, kinds: K) {
    this.family = family;
    this.kinds = kinds;
    for (const [name, entry] of Object.entries(kinds)) {
      if (!entry.schema.shape.kind.safeParse(name).success) throw new GreenlightError('INTERNAL', `${family} kind "${name}" is registered with a schema of another kind`);
    }
    if (this.names().length === 0) throw new GreenlightError('INTERNAL', `no ${family} kinds registered`);
  }

  names(): string[] {
    return Object.keys(this.kinds);
  }

  /** The kind named, or a CONFIG_INVALID error naming the known kinds; `whose` says whose kind it is ("check \"smoke\""). */
  get(name: unknown, whose?: string): K[keyof K] {
    if (typeof name === 'string' && Object.hasOwn(this.kinds, name)) return this.kinds[name as keyof K];
    throw new GreenlightError('CONFIG_INVALID', `${whose ?? `the ${this.family}`} has unknown kind ${JSON.stringify(name)}`, {
      hint: `use one of: ${this.names().join(', ')}`,
      data: { family: this.family, kind: name, known: this.names() },
    });
  }

  /** The union of the kinds' schemas, discriminated by `kind`: what config/ composes. */
  schema(): z.ZodType<SpecOf<K>, InputOf<K>> {
    const schemas = Object.values(this.kinds).map((k) => k.schema);
    // zod types a union from a tuple literal; built from a record, the types come from SpecOf/InputOf
    return z.discriminatedUnion('kind', schemas as [KindSchema, ...KindSchema[]]) as unknown as z.ZodType<SpecOf<K>, InputOf<K>>;
  }

  /** Raw config (a test, the API, an unparsed file) to its kind's parsed config; errors name the fields under `field`. */
  parse(raw: unknown, field: string, whose?: string): SpecOf<K> {
    const entry = this.get((raw as { kind?: unknown } | null)?.kind, whose ?? field);
    const parsed = entry.schema.safeParse(raw);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => `${[field, ...i.path.map(String)].join('.')}: ${i.message}`);
      throw new GreenlightError('CONFIG_INVALID', `${whose ?? field} is not valid: ${fields.join('; ')}`, {
        hint: `fix the fields above; ${this.family} kinds: ${this.names().join(', ')}`,
        data: { issues: parsed.error.issues },
      });
    }
    return parsed.data as SpecOf<K>;
  }

  /** Builds the adapter of a parsed config's kind. */
  create(spec: SpecOf<K>, deps: DepsOf<K>, whose?: string): MadeBy<K> {
    const entry = this.get((spec as { kind: unknown }).kind, whose);
    // the entry chosen by spec.kind takes this spec; TypeScript cannot correlate the two unions
    return (entry.create as (spec: SpecOf<K>, deps: DepsOf<K>) => MadeBy<K>)(spec, deps);
  }
}
