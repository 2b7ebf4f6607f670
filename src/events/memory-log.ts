import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../clock/clock.ts';
import { chainNext, GENESIS_HASH } from '../audit/chain.ts';
import { eventOfRow, rowOf, validateEvents, type EventOf, type EventType, type NewEventOf, type StoredRow } from './catalogue/index.ts';
import { matchesFilter, type EventFilter, type EventLog, type NewEvent, type StoredEvent } from './log.ts';

/** The fake EventLog: same contract as the SQLite store, kept in memory. */
export class MemoryEventLog implements EventLog {
  private rows: StoredRow[] = [];
  private listeners = new Set<(e: StoredEvent) => void>();
  private readonly clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.clock = clock;
  }

  append<T extends EventType>(event: NewEventOf<T>): Promise<EventOf<T>>;
  append(event: NewEvent): Promise<StoredEvent>;
  async append(event: NewEvent): Promise<StoredEvent> {
    return (await this.appendAll([event]))[0]!;
  }

  async appendAll(events: NewEvent[]): Promise<StoredEvent[]> {
    // the door: every event of the batch is checked against the catalogue before any is kept
    const valid = validateEvents(events);
    const rows = chainNext(
      this.rows.at(-1)?.hash ?? GENESIS_HASH,
      valid.map((e, i) => rowOf(e, this.rows.length + i + 1, randomUUID(), e.time ?? this.clock.now())),
    );
    this.rows.push(...rows);
    const stored = rows.map(eventOfRow);
    for (const s of stored) for (const l of this.listeners) l(s);
    return stored;
  }

  async query(filter: EventFilter = {}): Promise<StoredEvent[]> {
    return (await this.queryRows(filter)).map(eventOfRow);
  }

  async queryRows(filter: EventFilter = {}): Promise<StoredRow[]> {
    let out = this.rows.filter((r) => matchesFilter(r, filter));
    if (filter.descending) out = out.reverse();
    if (filter.limit !== undefined) out = out.slice(0, filter.limit);
    return out.map((r) => structuredClone(r));
  }

  async lastSeq(): Promise<number> {
    return this.rows.length;
  }

  subscribe(listener: (e: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
