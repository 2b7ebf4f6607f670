import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { systemClock, type Clock } from '../../clock/clock.ts';
import { eventOfRow, rowOf, validateEvents, type EventOf, type EventType, type NewEventOf, type StoredRow } from '../../events/catalogue/index.ts';
import type { EventFilter, EventLog, NewEvent, StoredEvent } from '../../events/log.ts';

interface Row {
  seq: number;
  id: string;
  type: string;
  v: number;
  time: number;
  actor: string;
  subject: string;
  data: string;
}

/**
 * The event log in one SQLite file (WAL mode, so the CLI can read while the controller writes).
 * Appends are synchronous under the hood; the async interface is for stores that need the network.
 */
export class SqliteEventLog implements EventLog {
  private readonly db: DatabaseSync;
  private readonly clock: Clock;
  private readonly insert: StatementSync;
  private listeners = new Set<(e: StoredEvent) => void>();

  constructor(path: string, clock: Clock = systemClock) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.clock = clock;
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        time INTEGER NOT NULL,
        actor TEXT NOT NULL,
        subject TEXT NOT NULL,
        data TEXT NOT NULL,
        v INTEGER NOT NULL DEFAULT 1
      );
      CREATE INDEX IF NOT EXISTS events_type ON events(type);
      CREATE INDEX IF NOT EXISTS events_subject ON events(subject);
      CREATE INDEX IF NOT EXISTS events_time ON events(time);
      CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
    `);
    // A log written before event versions existed: its events are version 1 of their types.
    const columns = this.db.prepare('PRAGMA table_info(events)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'v')) this.db.exec('ALTER TABLE events ADD COLUMN v INTEGER NOT NULL DEFAULT 1');
    this.insert = this.db.prepare(
      'INSERT INTO events (id, type, v, time, actor, subject, data) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq',
    );
  }

  append<T extends EventType>(event: NewEventOf<T>): Promise<EventOf<T>>;
  append(event: NewEvent): Promise<StoredEvent>;
  async append(event: NewEvent): Promise<StoredEvent> {
    return (await this.appendAll([event]))[0]!;
  }

  async appendAll(events: NewEvent[]): Promise<StoredEvent[]> {
    // the door: every event of the batch is checked before the transaction starts
    const valid = validateEvents(events);
    const stored: StoredEvent[] = [];
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const e of valid) {
        const r = rowOf(e, 0, randomUUID(), e.time ?? this.clock.now());
        const row = this.insert.get(r.id, r.type, r.v, r.time, r.actor, r.subject, JSON.stringify(r.data)) as { seq: number };
        stored.push(eventOfRow({ ...r, seq: Number(row.seq) }));
      }
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
    for (const s of stored) for (const l of this.listeners) l(s);
    return stored;
  }

  async query(filter: EventFilter = {}): Promise<StoredEvent[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.types && filter.types.length > 0) {
      const ors = filter.types.map((t) => {
        if (t.endsWith('*')) {
          params.push(escapeLike(t.slice(0, -1)) + '%');
          return "type LIKE ? ESCAPE '\\'";
        }
        params.push(t);
        return 'type = ?';
      });
      where.push(`(${ors.join(' OR ')})`);
    }
    if (filter.subject) {
      if (filter.subject.endsWith('*')) {
        where.push("subject LIKE ? ESCAPE '\\'");
        params.push(escapeLike(filter.subject.slice(0, -1)) + '%');
      } else {
        where.push('subject = ?');
        params.push(filter.subject);
      }
    }
    if (filter.afterSeq !== undefined) (where.push('seq > ?'), params.push(filter.afterSeq));
    if (filter.since !== undefined) (where.push('time >= ?'), params.push(filter.since));
    if (filter.until !== undefined) (where.push('time <= ?'), params.push(filter.until));
    let sql = 'SELECT seq, id, type, v, time, actor, subject, data FROM events';
    if (where.length) sql += ' WHERE ' + where.join(' AND ');
    sql += filter.descending ? ' ORDER BY seq DESC' : ' ORDER BY seq ASC';
    if (filter.limit !== undefined) (sql += ' LIMIT ?'), params.push(filter.limit);
    const rows = this.db.prepare(sql).all(...params) as unknown as Row[];
    return rows.map((r) =>
      eventOfRow({
        seq: Number(r.seq),
        id: r.id,
        type: r.type,
        v: Number(r.v),
        time: Number(r.time),
        actor: r.actor,
        subject: r.subject,
        data: JSON.parse(r.data) as StoredRow['data'],
      }),
    );
  }

  async lastSeq(): Promise<number> {
    const row = this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM events').get() as { seq: number };
    return Number(row.seq);
  }

  subscribe(listener: (e: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    if (this.db.isOpen) this.db.close();
  }
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}
