import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../clock/clock.ts';
import { chainNext, GENESIS_HASH } from '../audit/chain.ts';
import { matchesFilter, type EventFilter, type EventLog, type NewEvent, type StoredEvent } from './log.ts';

/** The fake EventLog: same contract as the SQLite store, kept in memory. */
export class MemoryEventLog implements EventLog {
  private events: StoredEvent[] = [];
  private listeners = new Set<(e: StoredEvent) => void>();
  private readonly clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.clock = clock;
  }

  async append(event: NewEvent): Promise<StoredEvent> {
    return (await this.appendAll([event]))[0]!;
  }

  async appendAll(events: NewEvent[]): Promise<StoredEvent[]> {
    // what the real stores' NOT NULL columns refuse, refused here too, before anything is kept
    for (const e of events) {
      for (const k of ['type', 'actor', 'subject'] as const) {
        if (typeof e[k] !== 'string') throw new TypeError(`event ${k} must be a string, got ${typeof e[k]}`);
      }
    }
    const stored = chainNext(
      this.events.at(-1)?.hash ?? GENESIS_HASH,
      events.map((e, i) => ({
        seq: this.events.length + i + 1,
        id: randomUUID(),
        type: e.type,
        time: e.time ?? this.clock.now(),
        actor: e.actor,
        subject: e.subject,
        data: structuredClone(e.data ?? {}),
      })),
    );
    this.events.push(...stored);
    for (const s of stored) for (const l of this.listeners) l(s);
    return stored;
  }

  async query(filter: EventFilter = {}): Promise<StoredEvent[]> {
    let out = this.events.filter((e) => matchesFilter(e, filter));
    if (filter.descending) out = out.reverse();
    if (filter.limit !== undefined) out = out.slice(0, filter.limit);
    return out.map((e) => structuredClone(e));
  }

  async lastSeq(): Promise<number> {
    return this.events.length;
  }

  subscribe(listener: (e: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
