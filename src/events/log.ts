// The event log is the source of truth: every state change is one appended event, and current
// state, timelines, postmortems and the dashboard are projections of it. This interface is owned
// here; store/sqlite implements it today and a PostgreSQL store can implement it next.

import { ofType, type CatalogueEvent, type EventOf, type EventType, type NewCatalogueEvent, type NewEventOf, type StoredRow } from './catalogue/index.ts';

export type EventData = Record<string, unknown>;

/** What `append` takes: only events of the catalogue (src/events/catalogue), checked at the door. */
export type NewEvent = NewCatalogueEvent;

/** What the log returns: a catalogue event, its data brought to the current version. */
export type StoredEvent = CatalogueEvent;

export interface EventFilter {
  /** exact type, or a prefix ending in "*" ("deployment.*"); several are OR-ed */
  types?: string[];
  /** exact subject, or a prefix ending in "*" */
  subject?: string;
  afterSeq?: number;
  since?: number;
  until?: number;
  limit?: number;
  /** newest first when true (with limit: the last N) */
  descending?: boolean;
}

export interface EventLog {
  /** refuses (EVENT_INVALID, nothing appended) an event that does not match its catalogue schema */
  append<T extends EventType>(event: NewEventOf<T>): Promise<EventOf<T>>;
  append(event: NewEvent): Promise<StoredEvent>;
  /** appends all or none; all are checked against the catalogue first */
  appendAll(events: NewEvent[]): Promise<StoredEvent[]>;
  query(filter?: EventFilter): Promise<StoredEvent[]>;
  /**
   * The rows as stored: data as written (before any upcasting) and the schema version `v` it was
   * written at. What the hash chain covers, what `audit verify` checks and `store migrate` copies.
   */
  queryRows(filter?: EventFilter): Promise<StoredRow[]>;
  lastSeq(): Promise<number>;
  /**
   * The highest seq the store ever handed out, kept apart from the rows (SQLite's sqlite_sequence,
   * a PostgreSQL sequence): larger than lastSeq when events were cut off the end.
   */
  highWaterSeq?(): Promise<number>;
  /**
   * Called once for each event appended after subscribing, in seq order. The real stores deliver
   * the appends of every process sharing the log (PostgreSQL LISTEN/NOTIFY, SQLite a file watch);
   * the in-memory fake only its own.
   */
  subscribe(listener: (event: StoredEvent) => void): () => void;
  close(): Promise<void>;
}

export function matchesPattern(value: string, pattern: string): boolean {
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

/** Takes a stored event or a store's row: only the fields a filter looks at. */
export function matchesFilter(e: { type: string; subject: string; seq: number; time: number }, f: EventFilter): boolean {
  if (f.types && f.types.length > 0 && !f.types.some((t) => matchesPattern(e.type, t))) return false;
  if (f.subject && !matchesPattern(e.subject, f.subject)) return false;
  if (f.afterSeq !== undefined && e.seq <= f.afterSeq) return false;
  if (f.since !== undefined && e.time < f.since) return false;
  if (f.until !== undefined && e.time > f.until) return false;
  return true;
}

/** The events of one type, typed: `(await queryType(log, 'instance.crashed'))[0].data.phase`. */
export async function queryType<T extends EventType>(log: EventLog, type: T, filter: Omit<EventFilter, 'types'> = {}): Promise<EventOf<T>[]> {
  return (await log.query({ ...filter, types: [type] })).filter(ofType(type));
}

/**
 * Reads a log of any size page by page (afterSeq + limit), so neither the store nor the reader
 * holds the whole log in memory at once.
 */
export function pages(log: EventLog, filter: EventFilter = {}, pageSize = 1000): AsyncGenerator<StoredEvent[]> {
  return paged((f) => log.query(f), filter, pageSize);
}

/** pages() over the rows as stored (no upcasting): for the audit verifier and migrations. */
export function rowPages(log: EventLog, filter: EventFilter = {}, pageSize = 1000): AsyncGenerator<StoredRow[]> {
  return paged((f) => log.queryRows(f), filter, pageSize);
}

async function* paged<T extends { seq: number }>(read: (f: EventFilter) => Promise<T[]>, filter: EventFilter, pageSize: number): AsyncGenerator<T[]> {
  let after = filter.afterSeq ?? 0;
  for (;;) {
    const page = await read({ ...filter, afterSeq: after, limit: pageSize, descending: false });
    if (page.length === 0) return;
    yield page;
    after = page[page.length - 1]!.seq;
    if (page.length < pageSize) return;
  }
}
