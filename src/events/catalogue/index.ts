// The event catalogue: every event type Greenlight writes to its log, one zod schema each, grouped
// by the module that emits it. The stores validate every append against it (nothing outside the
// catalogue is ever written), the readers switch over its union, the API publishes it as JSON
// Schema (GET /v1/events/catalogue) and docs/events.md is generated from it.
//
// How to add an event type
//   1. In the owner's file (src/events/catalogue/<owner>.ts; a new owner gets a new file, listed in
//      `definitions` below) add `defineEvent({ type, owner, meaning, data: z.strictObject({...}) })`.
//      `meaning` is one sentence: it becomes the event's line in docs/events.md.
//   2. Emit it with `event('<type>', { actor, subject, data })` or a plain object literal: the
//      compiler checks the data against the schema, the store checks it again at the door.
//   3. The compiler then asks for its line in every reader that switches over the union: the
//      state projection (src/state/projection.ts) if it changes state, the CLI progress
//      (src/cli/progress.ts), the incident timeline (src/incidents/timeline.ts); a test asks for
//      its dashboard rendering (web/events.js), which the compiler cannot see.
//   4. `npm run docs:events` regenerates docs/events.md (a test fails while it is out of date).
// How to change one
//   Adding an optional field keeps the version. Anything that changes what stored events mean or
//   look like (a field renamed, removed, made required, a new meaning) bumps `version` and adds an
//   upcaster from the previous version: logs written by earlier Greenlights then still read, and
//   every reader only ever sees the current shape. Keep the fixture log (fixture.jsonl) as it is:
//   it is what an earlier Greenlight wrote.
import { z } from 'zod';
import { GreenlightError } from '../../errors/errors.ts';
import type { EventDefinition } from './define.ts';
import { alertingEvents } from './alerting.ts';
import { approvalEvents } from './approval.ts';
import { auditEvents } from './audit.ts';
import { authEvents } from './auth.ts';
import { changeEvents } from './change.ts';
import { analysisEvents } from './analysis.ts';
import { checkEvents } from './check.ts';
import { controllerEvents } from './controller.ts';
import { deploymentEvents } from './deployment.ts';
import { drillEvents } from './drill.ts';
import { environmentEvents } from './environment.ts';
import { hostEvents } from './host.ts';
import { incidentEvents } from './incident.ts';
import { instanceEvents } from './instance.ts';
import { inventoryEvents } from './inventory.ts';
import { monitorEvents } from './monitor.ts';
import { releaseEvents } from './release.ts';
import { rolloutEvents } from './rollout.ts';
import { routerEvents } from './router.ts';

export const definitions = [
  ...releaseEvents,
  ...deploymentEvents,
  ...environmentEvents,
  ...rolloutEvents,
  ...analysisEvents,
  ...checkEvents,
  ...routerEvents,
  ...instanceEvents,
  ...incidentEvents,
  ...alertingEvents,
  ...monitorEvents,
  ...controllerEvents,
  ...hostEvents,
  ...inventoryEvents,
  ...changeEvents,
  ...approvalEvents,
  ...authEvents,
  ...drillEvents,
  ...auditEvents,
] as const;

type Definition = (typeof definitions)[number];
export type EventType = Definition['type'];
type DefinitionOf<T extends EventType> = Extract<Definition, { type: T }>;
export type DataOf<T extends EventType> = z.output<DefinitionOf<T>['data']>;

/** An event about to be appended; `time` defaults to the log's clock. */
export interface NewEventOf<T extends EventType = EventType> {
  type: T;
  /** who caused it: "user:alice", "controller", "router:production", "cli" */
  actor: string;
  /** what it is about: "deployment/<id>", "release/web@2.0.0", "instance/<id>", "incident/<id>" */
  subject: string;
  data: DataOf<T>;
  time?: number;
}

/** An event as the log holds it: position, id and time added, data at the current version. */
export interface EventOf<T extends EventType = EventType> {
  /** position in the log, strictly increasing */
  seq: number;
  id: string;
  type: T;
  time: number;
  actor: string;
  subject: string;
  data: DataOf<T>;
  /** sha256 over this event's content and prevHash (see audit/chain.ts); absent on events from before chaining */
  hash?: string;
  /** the hash of the event before it (GENESIS_HASH for the first) */
  prevHash?: string;
}

/** The event types whose data has all of `Fields` (e.g. every event about one deployment). */
export type TypesWith<Fields> = { [K in EventType]: DataOf<K> extends Fields ? K : never }[EventType];

/**
 * For emitters that write many types sharing their first fields (a deployment's id, service and
 * version): the data of `T` without them, to be spread after them.
 */
export type DataBesides<T extends EventType, Shared> = [keyof Omit<DataOf<T>, keyof Shared>] extends [never]
  ? // nothing besides the shared fields: {} would accept any object, so say "no fields" instead
    { [k: string]: never }
  : Omit<DataOf<T>, keyof Shared>;

/** Any catalogue event about to be appended: a union keyed on `type`. */
export type NewCatalogueEvent = { [K in EventType]: NewEventOf<K> }[EventType];
/** Any stored catalogue event: a union keyed on `type`, so a switch on `type` narrows `data`. */
export type CatalogueEvent = { [K in EventType]: EventOf<K> }[EventType];

const byType = new Map<string, EventDefinition>();
for (const d of definitions as readonly EventDefinition[]) {
  if (byType.has(d.type)) throw new Error(`event type ${d.type} is defined twice in the catalogue`);
  byType.set(d.type, d);
}

export const eventTypes: readonly EventType[] = definitions.map((d) => d.type);

export function isEventType(type: string): type is EventType {
  return byType.has(type);
}

export function definitionOf(type: string): EventDefinition | undefined {
  return byType.get(type);
}

/** The version new events of this type are written at. */
export function versionOf(type: string): number {
  return byType.get(type)?.version ?? 1;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = ['data', ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') return `${path}: unknown field(s) ${issue.keys.join(', ')}`;
  return `${path}: ${issue.message}`;
}

/**
 * Checks one event at the door of a store: a catalogue type, actor and subject, a finite time,
 * data matching the type's schema. Throws a GreenlightError naming the type and every bad field.
 */
export function validateEvent(e: unknown, position?: number): NewCatalogueEvent {
  const where = position === undefined ? '' : ` (event ${position + 1} of the batch; nothing was appended)`;
  const fail = (type: string, problems: string[]) =>
    new GreenlightError('EVENT_INVALID', `event ${type} does not match the event catalogue${where}: ${problems.join('; ')}`, {
      hint: `fix what emits it, or its schema in src/events/catalogue/${byType.get(type)?.owner ?? '<owner>'}.ts (see the comment at the top of src/events/catalogue/index.ts)`,
      data: { type, problems },
    });
  if (typeof e !== 'object' || e === null) throw fail('(none)', ['an event must be an object with type, actor, subject and data']);
  const o = e as Record<string, unknown>;
  const type = typeof o.type === 'string' ? o.type : '(none)';
  const def = byType.get(type);
  if (!def) {
    throw new GreenlightError('EVENT_INVALID', `unknown event type "${type}"${where}: the log only takes the types of the event catalogue`, {
      hint: 'add it to src/events/catalogue/<owner>.ts (see the comment at the top of src/events/catalogue/index.ts)',
      data: { type },
    });
  }
  const problems: string[] = [];
  if (typeof o.actor !== 'string' || o.actor === '') problems.push('actor: expected a non-empty string');
  if (typeof o.subject !== 'string' || o.subject === '') problems.push('subject: expected a non-empty string');
  if (o.time !== undefined && (typeof o.time !== 'number' || !Number.isFinite(o.time))) problems.push('time: expected a finite number (ms since the epoch)');
  const parsed = def.data.safeParse(o.data ?? {});
  if (!parsed.success) problems.push(...parsed.error.issues.map(describeIssue));
  if (problems.length) throw fail(type, problems);
  return e as NewCatalogueEvent;
}

/** Validates a batch; all or nothing, so a store can check before it writes anything. */
export function validateEvents(events: readonly unknown[]): NewCatalogueEvent[] {
  return events.map((e, i) => validateEvent(e, events.length > 1 ? i : undefined));
}

/**
 * Brings the data of a stored event from the version it was written at to the current one.
 * Events of types the catalogue no longer knows are returned unchanged: readers ignore them.
 */
export function upcast(type: string, version: number, data: Record<string, unknown>): Record<string, unknown> {
  const def = byType.get(type);
  return def ? upcastWith(def, version, data) : data;
}

/** The upcasters of one definition applied to data written at `version`, in order. */
export function upcastWith(def: EventDefinition, version: number, data: Record<string, unknown>): Record<string, unknown> {
  let out = data;
  for (const u of def.upcasters) if (u.from >= version) out = u.up(out);
  return out;
}

/** The typed constructor: builds an event of one type, checked against its schema at once. */
export function event<T extends EventType>(type: T, e: Omit<NewEventOf<T>, 'type'>): NewEventOf<T> {
  const out: NewEventOf<T> = { type, ...e };
  validateEvent(out);
  return out;
}

/**
 * The constructor for emitters of many types that share fields: `shared` first, then the type's
 * own. The schema check (here and at the store's door) is what proves the two make the whole.
 */
export function eventWith<Shared extends object>(shared: Shared, meta: { actor: string; subject: string }) {
  return <T extends TypesWith<Shared>>(type: T, data: DataBesides<T, Shared>, actor = meta.actor): NewEventOf<T> =>
    event(type, { actor, subject: meta.subject, data: { ...shared, ...data } as DataOf<T> });
}

/** The whole catalogue as one JSON Schema document (draft 2020-12): a union keyed on `type`. */
export function catalogueJsonSchema(): Record<string, unknown> {
  const one = (d: EventDefinition) =>
    z
      .object({
        type: z.literal(d.type),
        version: z.literal(d.version),
        actor: z.string(),
        subject: z.string(),
        time: z.number(),
        data: d.data,
      })
      .meta({ title: d.type, description: d.meaning });
  const all = (definitions as readonly EventDefinition[]).map(one);
  const union = z.discriminatedUnion('type', all as unknown as [ReturnType<typeof one>, ...ReturnType<typeof one>[]]);
  return {
    ...(z.toJSONSchema(union, { unrepresentable: 'any' }) as Record<string, unknown>),
    title: 'Greenlight event catalogue',
    description: 'Every event type of the Greenlight event log, with its version and data schema.',
  };
}

/** An event as a store keeps it: the version its data was written at, beside the data. */
export interface StoredRow {
  seq: number;
  id: string;
  type: string;
  /** the catalogue version of the type when it was written; logs from before versions read as 1 */
  v: number;
  time: number;
  actor: string;
  subject: string;
  data: Record<string, unknown>;
  /** the hash chain (src/audit/chain.ts), over the data as written */
  hash?: string;
  prevHash?: string;
}

/** What a store writes for a validated event. */
export function rowOf(e: NewCatalogueEvent, seq: number, id: string, time: number): StoredRow {
  return { seq, id, type: e.type, v: versionOf(e.type), time, actor: e.actor, subject: e.subject, data: structuredClone(e.data as Record<string, unknown>) };
}

/** What a store returns for a row: the data upcast to the current version, a copy. */
export function eventOfRow(r: StoredRow): CatalogueEvent {
  const data = upcast(r.type, r.v, structuredClone(r.data));
  const chain = { ...(r.hash ? { hash: r.hash } : {}), ...(r.prevHash ? { prevHash: r.prevHash } : {}) };
  return { seq: r.seq, id: r.id, type: r.type, time: r.time, actor: r.actor, subject: r.subject, data, ...chain } as CatalogueEvent;
}

/** A type guard for one event type: `events.filter(ofType('rollout.weight.zero'))` is typed. */
export function ofType<T extends EventType>(...types: T[]): (e: CatalogueEvent) => e is EventOf<T> & CatalogueEvent {
  return (e): e is EventOf<T> & CatalogueEvent => (types as string[]).includes(e.type);
}

/**
 * A reader's rendering of every event type: a function of that type's event, or null where the
 * reader deliberately shows nothing. The compiler refuses a table that lacks a type, so a new
 * event type cannot be forgotten by the readers built on it (CLI progress, incident timeline).
 */
export type PerType<R> = { [K in EventType]: ((e: EventOf<K>) => R) | null };

/** The types a reader deliberately leaves out, for spreading into a PerType table. */
export function silent<const T extends EventType>(...types: T[]): { [K in T]: null } {
  return Object.fromEntries(types.map((t) => [t, null])) as { [K in T]: null };
}

/**
 * The events no reader of a release or an incident gives a line: routers and instances coming and
 * going, monitors and alerts before they page, drills, the audit chain, users and tokens, host
 * changes, inventory. The CLI's progress lines and the incident timeline both leave them out
 * (`...silent(...NO_LINE)`), each beside the few it leaves out for its own reasons; the decision
 * for a new type of this kind is made once, here.
 */
export const NO_LINE = [
  'release.registered',
  'environment.reconciled',
  'environment.traffic.restored',
  'environment.reconcile.failed',
  'router.started',
  'router.adopted',
  'router.stopped',
  'router.died',
  'router.crash_looping',
  'router.restarted',
  'router.restart_failed',
  'instance.started',
  'instance.ready',
  'instance.stopped',
  'instance.adopted',
  'instance.lost',
  'alert.pending',
  'alert.firing',
  'alert.resolved',
  'alert.group.notified',
  'page.triggered',
  'silence.created',
  'silence.expired',
  'monitor.summary',
  'monitor.anomaly',
  'monitor.trend.warning',
  'monitor.alert.pending',
  'monitor.alert.firing',
  'monitor.alert.resolved',
  'monitor.probe.up',
  'monitor.probe.down',
  'controller.started',
  'controller.stopped',
  'host.key_accepted',
  'host.clock_skew',
  'host.supervisor',
  'artifact.uploaded',
  'artifact.pruned',
  'drill.started',
  'drill.fault.injected',
  'drill.deployment.started',
  'drill.incident.linked',
  'drill.mitigated',
  'drill.ended',
  'drill.missed',
  'drill.scored',
  'audit.chain_started',
  'audit.break_accepted',
  'analysis.samples',
  'inventory.collected',
  'inventory.drift',
  'user.created',
  'user.roles.changed',
  'token.issued',
  'token.revoked',
  'drill.reminder.sent',
  'drill.slot.done',
  'drill.slot.start_failed',
  'change.requested',
  'change.blocked',
  'change.override',
  'change.environment.started',
  'change.wave.started',
  'change.wave.waiting',
  'change.stopped',
  'change.host.drained',
  'change.host.applied',
  'change.host.verified',
  'change.host.verify_failed',
  'change.host.undone',
  'change.host.undo_failed',
  'change.host.failed',
  'change.host.restored',
  'change.host.unhealthy',
  'change.failed',
  'change.passed',
  'change.completed',
] as const satisfies readonly EventType[];

/** Reads one event with a table; a type the catalogue does not know (an old log's) reads as nothing. */
export function readWith<R>(table: PerType<R>, e: CatalogueEvent): R | undefined {
  const render = (table as Record<string, ((e: CatalogueEvent) => R) | null | undefined>)[e.type];
  return render ? render(e) : undefined;
}
