import { randomUUID } from 'node:crypto';
import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { systemClock, type Clock, type TimerHandle } from '../../clock/clock.ts';
import type { EventFilter, EventLog, NewEvent, StoredEvent } from '../../events/log.ts';
import { CHAIN_STARTED, chainNext, GENESIS_HASH, legacyHead } from '../../audit/chain.ts';

interface Row {
  seq: number;
  id: string;
  type: string;
  time: number;
  actor: string;
  subject: string;
  data: string;
  hash: string | null;
  prev_hash: string | null;
}

export interface SqliteEventLogOptions {
  /** open without creating or migrating anything (audit verify, readers) */
  readOnly?: boolean;
}

const COLUMNS = 'seq, id, type, time, actor, subject, data, hash, prev_hash';

/**
 * The event log in one SQLite file (WAL mode, so the CLI can read while the controller writes).
 * Appends are synchronous under the hood; the async interface is for stores that need the network.
 */
export class SqliteEventLog implements EventLog {
  private readonly db: DatabaseSync;
  private readonly clock: Clock;
  private readonly insert: StatementSync;
  private listeners = new Set<(e: StoredEvent) => void>();
  private readonly path: string;
  /** highest seq handed to listeners */
  private delivered = 0;
  private dataVersion = -1;
  private watcher: FSWatcher | undefined;
  private safety: TimerHandle | undefined;

  constructor(path: string, clock: Clock = systemClock, opts: SqliteEventLogOptions = {}) {
    this.path = path;
    this.clock = clock;
    if (opts.readOnly) {
      this.db = new DatabaseSync(path, { readOnly: true });
      this.db.exec('PRAGMA busy_timeout = 5000;');
      this.insert = this.db.prepare('SELECT 1'); // never run: appends fail on a read-only connection
      this.delivered = this.lastSeqNow();
      return;
    }
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
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
        hash TEXT,
        prev_hash TEXT
      );
      CREATE INDEX IF NOT EXISTS events_type ON events(type);
      CREATE INDEX IF NOT EXISTS events_subject ON events(subject);
      CREATE INDEX IF NOT EXISTS events_time ON events(time);
      CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
    `);
    this.migrateToChain();
    this.insert = this.db.prepare(`INSERT INTO events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.startChainIfLegacy();
    this.delivered = this.lastSeqNow();
  }

  /** A log written before chaining has no hash columns: add them (old rows keep NULL). */
  private migrateToChain(): void {
    const cols = new Set((this.db.prepare('PRAGMA table_info(events)').all() as { name: string }[]).map((c) => c.name));
    if (!cols.has('hash')) this.db.exec('ALTER TABLE events ADD COLUMN hash TEXT');
    if (!cols.has('prev_hash')) this.db.exec('ALTER TABLE events ADD COLUMN prev_hash TEXT');
  }

  /**
   * Old events (no hash) are covered as one block: the first chained event is an anchor whose
   * prevHash is the chain computed over all of them, so changing any of them later breaks the link.
   */
  private startChainIfLegacy(): void {
    const last = this.db.prepare('SELECT hash FROM events ORDER BY seq DESC LIMIT 1').get() as { hash: string | null } | undefined;
    if (!last || last.hash) return;
    const anyChained = this.db.prepare('SELECT 1 AS x FROM events WHERE hash IS NOT NULL LIMIT 1').get();
    if (anyChained) return; // unhashed rows after chained ones: tampering, for audit verify to report, not to paper over
    const count = (this.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
    this.appendSync([{ type: CHAIN_STARTED, actor: 'controller', subject: 'audit', data: { legacyEvents: Number(count), note: "events before this one were recorded without hashes; they are covered as one block by this event's prevHash" } }]);
  }

  async append(event: NewEvent): Promise<StoredEvent> {
    return (await this.appendAll([event]))[0]!;
  }

  async appendAll(events: NewEvent[]): Promise<StoredEvent[]> {
    const stored = this.appendSync(events);
    this.catchUp(stored);
    return stored;
  }

  private appendSync(events: NewEvent[]): StoredEvent[] {
    // The write lock is taken before reading the head, so two writers never chain onto the same event.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const last = this.db.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string | null } | undefined;
      let prev = last?.hash ?? GENESIS_HASH;
      if (last && !last.hash) prev = legacyHead(this.rows(this.db.prepare(`SELECT ${COLUMNS} FROM events ORDER BY seq`).all() as unknown as Row[]));
      // seq follows the highest ever handed out (AUTOINCREMENT's rule), so a cut-off tail is not silently reused
      const next = Math.max(Number(last?.seq ?? 0), this.highWaterSync()) + 1;
      const chained = chainNext(
        prev,
        events.map((e, i) => ({ seq: next + i, id: randomUUID(), type: e.type, time: e.time ?? this.clock.now(), actor: e.actor, subject: e.subject, data: structuredClone(e.data ?? {}) })),
      );
      for (const c of chained) this.insert.run(c.seq, c.id, c.type, c.time, c.actor, c.subject, JSON.stringify(c.data), c.hash, c.prevHash);
      this.db.exec('COMMIT');
      return chained;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  private highWaterSync(): number {
    try {
      const row = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as { seq: number } | undefined;
      return Number(row?.seq ?? 0);
    } catch {
      return 0; // no AUTOINCREMENT row yet
    }
  }

  async highWaterSeq(): Promise<number> {
    return this.highWaterSync();
  }

  /**
   * Hands listeners every event after the last delivered one, in seq order: this object's own
   * appends, and those of other processes (found when the file changes, see watchFile).
   */
  private catchUp(own: StoredEvent[] = []): void {
    if (!this.db.isOpen) return;
    const next = own[0]?.seq === this.delivered + 1 ? own : this.rows(this.db.prepare(`SELECT ${COLUMNS} FROM events WHERE seq > ? ORDER BY seq`).all(this.delivered) as unknown as Row[]);
    for (const e of next) {
      if (e.seq <= this.delivered) continue;
      this.delivered = e.seq;
      for (const l of this.listeners) l(own.length ? structuredClone(e) : e);
    }
  }

  /**
   * Other processes' appends reach subscribers without polling the table: inotify on the
   * database's directory (the WAL file changes on every commit) wakes us, and SQLite's
   * data_version, which changes only when another connection committed, says whether to read.
   * A slow data_version check covers filesystems without inotify.
   */
  private watchFile(): void {
    if (this.path === ':memory:' || this.watcher) return;
    const base = basename(this.path);
    const check = () => {
      if (!this.db.isOpen) return;
      const v = Number((this.db.prepare('PRAGMA data_version').get() as { data_version: number }).data_version);
      if (v === this.dataVersion) return;
      this.dataVersion = v;
      this.catchUp();
    };
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_ev, name) => {
        if (!name || name.startsWith(base)) check();
      });
      this.watcher.on('error', () => undefined);
    } catch {
      /* no inotify here: the safety check below still delivers */
    }
    const safety = () => {
      check();
      if (this.db.isOpen) this.safety = this.clock.setTimeout(safety, 2000);
    };
    this.safety = this.clock.setTimeout(safety, 2000);
  }

  private lastSeqNow(): number {
    return Number((this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM events').get() as { seq: number }).seq);
  }

  private rows(rows: Row[]): StoredEvent[] {
    return rows.map((r) => ({
      seq: Number(r.seq),
      id: r.id,
      type: r.type,
      time: Number(r.time),
      actor: r.actor,
      subject: r.subject,
      data: JSON.parse(r.data) as Record<string, unknown>,
      ...(r.hash ? { hash: r.hash } : {}),
      ...(r.prev_hash ? { prevHash: r.prev_hash } : {}),
    }));
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
    let sql = `SELECT ${COLUMNS} FROM events`;
    if (where.length) sql += ' WHERE ' + where.join(' AND ');
    sql += filter.descending ? ' ORDER BY seq DESC' : ' ORDER BY seq ASC';
    if (filter.limit !== undefined) (sql += ' LIMIT ?'), params.push(filter.limit);
    return this.rows(this.db.prepare(sql).all(...params) as unknown as Row[]);
  }

  async lastSeq(): Promise<number> {
    return this.lastSeqNow();
  }

  /** Every append to the file, from this or another process, in seq order, once each. */
  subscribe(listener: (e: StoredEvent) => void): () => void {
    if (this.listeners.size === 0) this.delivered = this.lastSeqNow();
    this.listeners.add(listener);
    this.watchFile();
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.watcher?.close();
    this.watcher = undefined;
    this.safety?.cancel();
    if (this.db.isOpen) this.db.close();
  }
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}
