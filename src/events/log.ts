// The event log is the source of truth: every state change is one appended event, and current
// state, timelines, postmortems and the dashboard are projections of it. This interface is owned
// here; store/sqlite implements it today and a PostgreSQL store can implement it next.

export type EventData = Record<string, unknown>;

export interface NewEvent {
  /** dotted name, e.g. "deployment.started"; see events/catalogue.ts */
  type: string;
  /** who caused it: "user:alice", "controller", "router:production", "cli" */
  actor: string;
  /** what it is about: "deployment/<id>", "release/web@2.0.0", "instance/<id>", "incident/<id>" */
  subject: string;
  data?: EventData;
  /** defaults to the log's clock */
  time?: number;
}

export interface StoredEvent {
  /** position in the log, strictly increasing */
  seq: number;
  id: string;
  type: string;
  time: number;
  actor: string;
  subject: string;
  data: EventData;
  /** sha256 over this event's content and prevHash (see audit/chain.ts); absent on events from before chaining */
  hash?: string;
  /** the hash of the event before it (GENESIS_HASH for the first) */
  prevHash?: string;
}

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
  append(event: NewEvent): Promise<StoredEvent>;
  /** appends all or none */
  appendAll(events: NewEvent[]): Promise<StoredEvent[]>;
  query(filter?: EventFilter): Promise<StoredEvent[]>;
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

export function matchesFilter(e: StoredEvent, f: EventFilter): boolean {
  if (f.types && f.types.length > 0 && !f.types.some((t) => matchesPattern(e.type, t))) return false;
  if (f.subject && !matchesPattern(e.subject, f.subject)) return false;
  if (f.afterSeq !== undefined && e.seq <= f.afterSeq) return false;
  if (f.since !== undefined && e.time < f.since) return false;
  if (f.until !== undefined && e.time > f.until) return false;
  return true;
}

/**
 * Reads a log of any size page by page (afterSeq + limit), so neither the store nor the reader
 * holds the whole log in memory at once.
 */
export async function* pages(log: EventLog, filter: EventFilter = {}, pageSize = 1000): AsyncGenerator<StoredEvent[]> {
  let after = filter.afterSeq ?? 0;
  for (;;) {
    const page = await log.query({ ...filter, afterSeq: after, limit: pageSize, descending: false });
    if (page.length === 0) return;
    yield page;
    after = page[page.length - 1]!.seq;
    if (page.length < pageSize) return;
  }
}
