import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { systemClock, type Clock, type TimerHandle } from '../../clock/clock.ts';
import { GreenlightError, describe } from '../../errors/errors.ts';
import { eventOfRow, rowOf, validateEvents, type EventOf, type EventType, type NewEventOf, type StoredRow } from '../../events/catalogue/index.ts';
import type { EventFilter, EventLog, NewEvent, StoredEvent } from '../../events/log.ts';
import { CHAIN_STARTED, chainNext, GENESIS_HASH, legacyHead } from '../../audit/chain.ts';

/** a row as SQLite returns it: the data still JSON text, the chain columns nullable (logs from before the chain) */
type Row = Omit<StoredRow, 'data' | 'hash'> & { data: string; hash: string | null; prev_hash: string | null };

export interface SqliteEventLogOptions {
  /**
   * Readers (`greenlight events`) open the log read-only: a read-write connection that closes
   * may checkpoint and delete the WAL, and a reader has no business writing the log at all.
   */
  readOnly?: boolean;
}

/** Device and inode of a file, or undefined when it does not exist. */
function identity(file: string): string | undefined {
  try {
    const st = statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

export function damagedLog(path: string, what: string, cause?: unknown): GreenlightError {
  return new GreenlightError('LOG_DAMAGED', `the event log ${path} ${what}`, {
    hint: `the log is the record of every release and deployment and is never overwritten: stop the controller, restore ${path} from a backup, or move it aside (mv ${path} ${path}.damaged, with its -wal and -shm files) to start with an empty record; routers and instances keep serving meanwhile`,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The event log in one SQLite file (WAL mode, so the CLI can read while the controller writes).
 * Appends are synchronous under the hood; the async interface is for stores that need the network.
 *
 * The store is the only thing that touches its files (events.db, -wal, -shm), and it checks that
 * they are still the files it opened before and after every append: SQLite's POSIX locks belong to
 * the process, so a stray open-and-close of the database elsewhere in the process drops them, and
 * another connection may then delete the WAL under us. Appends after that would go into an
 * unlinked file and be lost; the store refuses them instead (LOG_DAMAGED).
 */
export class SqliteEventLog implements EventLog {
  private readonly db: DatabaseSync;
  private readonly clock: Clock;
  private readonly insert: StatementSync | undefined;
  private readonly files: { db?: string; wal?: string } = {};
  private damage: GreenlightError | undefined;
  private listeners = new Set<(e: StoredEvent) => void>();
  private readonly path: string;
  /** highest seq handed to listeners */
  private delivered = 0;
  private dataVersion = -1;
  private watcher: FSWatcher | undefined;
  private safety: TimerHandle | undefined;
  /** the selected columns; a log from before chaining opened read-only has no hash columns */
  private columns = 'seq, id, type, v, time, actor, subject, data, hash, prev_hash';

  constructor(path: string, clock: Clock = systemClock, opts: SqliteEventLogOptions = {}) {
    this.path = path;
    this.clock = clock;
    const file = path !== ':memory:';
    if (file && opts.readOnly && !existsSync(path)) {
      throw new GreenlightError('NOT_FOUND', `no event log at ${path}`, { hint: 'it is created by the first greenlight up' });
    }
    if (file && !opts.readOnly) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // Created 0600 before SQLite sees it: SQLite gives the -wal and -shm files the database's mode.
      closeSync(openSync(path, 'a', 0o600));
      tightenModes(path);
    }
    try {
      this.db = new DatabaseSync(path, opts.readOnly ? { readOnly: true } : {});
    } catch (err) {
      throw damagedLog(path, `cannot be opened: ${describe(err)}`, err);
    }
    try {
      if (!opts.readOnly) this.createSchema();
      else this.db.exec('PRAGMA busy_timeout = 5000;');
      const check = this.db.prepare('PRAGMA quick_check').all() as { quick_check: string }[];
      if (check.length !== 1 || check[0]!.quick_check !== 'ok') {
        throw damagedLog(path, `is corrupted (SQLite integrity check: ${check.slice(0, 3).map((c) => c.quick_check).join('; ')})`);
      }
      this.db.prepare('SELECT COUNT(*) AS n FROM events').get();
    } catch (err) {
      if (this.db.isOpen) this.db.close();
      if (err instanceof GreenlightError) throw err;
      throw damagedLog(path, `is not a readable Greenlight event log: ${describe(err)}`, err);
    }
    if (opts.readOnly) {
      const cols = this.columnNames();
      // a log from before chaining, or before event versions (its events are version 1 of their types)
      this.columns = `seq, id, type, ${cols.has('v') ? 'v' : '1 AS v'}, time, actor, subject, data, ${cols.has('hash') && cols.has('prev_hash') ? 'hash, prev_hash' : 'NULL AS hash, NULL AS prev_hash'}`;
    } else this.migrateToChain();
    this.insert = opts.readOnly
      ? undefined
      : this.db.prepare('INSERT INTO events (seq, id, type, v, time, actor, subject, data, hash, prev_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    if (!opts.readOnly) this.startChainIfLegacy();
    if (file && !opts.readOnly) {
      tightenModes(path);
      this.files.db = identity(path);
      this.files.wal = identity(`${path}-wal`);
    }
    this.delivered = this.lastSeqNow();
  }

  private createSchema(): void {
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
        prev_hash TEXT,
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
  }

  private columnNames(): Set<string> {
    return new Set((this.db.prepare('PRAGMA table_info(events)').all() as { name: string }[]).map((c) => c.name));
  }

  /**
   * A log written before chaining has no hash columns: add them (old rows keep NULL). One written
   * before event versions has no v column: its events are version 1 of their types.
   */
  private migrateToChain(): void {
    const cols = this.columnNames();
    if (!cols.has('hash')) this.db.exec('ALTER TABLE events ADD COLUMN hash TEXT');
    if (!cols.has('prev_hash')) this.db.exec('ALTER TABLE events ADD COLUMN prev_hash TEXT');
    if (!cols.has('v')) this.db.exec('ALTER TABLE events ADD COLUMN v INTEGER NOT NULL DEFAULT 1');
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

  /** Refuses to write once the files on disk are no longer the ones this connection holds. */
  private checkFiles(): void {
    if (this.damage) throw this.damage;
    if (this.files.db === undefined) return;
    const db = identity(this.path);
    const wal = identity(`${this.path}-wal`);
    let what: string | undefined;
    if (db !== this.files.db) what = db === undefined ? 'was deleted while the controller had it open' : 'was replaced by another file while the controller had it open';
    else if (this.files.wal !== undefined && wal !== this.files.wal) {
      what = wal === undefined ? 'lost its write-ahead log (-wal deleted under the open database; was the state directory opened by something else, e.g. as part of an artifact?)' : 'had its write-ahead log (-wal) replaced';
    }
    if (what) {
      this.damage = damagedLog(this.path, `${what}; events appended now would be lost, so appending is refused`);
      throw this.damage;
    }
    this.files.wal ??= wal;
  }

  /** Set once the store noticed its files were deleted or replaced under it. */
  get damaged(): GreenlightError | undefined {
    return this.damage;
  }

  append<T extends EventType>(event: NewEventOf<T>): Promise<EventOf<T>>;
  append(event: NewEvent): Promise<StoredEvent>;
  async append(event: NewEvent): Promise<StoredEvent> {
    return (await this.appendAll([event]))[0]!;
  }

  async appendAll(events: NewEvent[]): Promise<StoredEvent[]> {
    if (!this.insert) throw new GreenlightError('INTERNAL', `the event log ${this.path} was opened read-only`, { hint: 'only the controller appends to the log' });
    // the door: every event of the batch is checked against the catalogue before the transaction
    const valid = validateEvents(events);
    this.checkFiles();
    const stored = this.appendSync(valid);
    // Committed into files that were unlinked meanwhile is not stored: say so rather than notify.
    this.checkFiles();
    this.catchUp(stored);
    return stored;
  }

  private appendSync(events: NewEvent[]): StoredEvent[] {
    const insert = this.insert!;
    // The write lock is taken before reading the head, so two writers never chain onto the same event.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const last = this.db.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string | null } | undefined;
      let prev = last?.hash ?? GENESIS_HASH;
      if (last && !last.hash) prev = legacyHead(this.raw(this.db.prepare(`SELECT ${this.columns} FROM events ORDER BY seq`).all() as unknown as Row[]));
      // seq follows the highest ever handed out (AUTOINCREMENT's rule), so a cut-off tail is not silently reused
      const next = Math.max(Number(last?.seq ?? 0), this.highWaterSync()) + 1;
      const chained = chainNext(
        prev,
        events.map((e, i) => rowOf(e, next + i, randomUUID(), e.time ?? this.clock.now())),
      );
      for (const c of chained) insert.run(c.seq, c.id, c.type, c.v, c.time, c.actor, c.subject, JSON.stringify(c.data), c.hash, c.prevHash);
      this.db.exec('COMMIT');
      return chained.map(eventOfRow);
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
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
    const next = own[0]?.seq === this.delivered + 1 ? own : this.raw(this.db.prepare(`SELECT ${this.columns} FROM events WHERE seq > ? ORDER BY seq`).all(this.delivered) as unknown as Row[]).map(eventOfRow);
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

  /** The rows as stored: what the hash chain covers. */
  private raw(rows: Row[]): StoredRow[] {
    return rows.map((r) => ({
      seq: Number(r.seq),
      id: r.id,
      type: r.type,
      v: Number(r.v ?? 1),
      time: Number(r.time),
      actor: r.actor,
      subject: r.subject,
      data: JSON.parse(r.data) as StoredRow['data'],
      ...(r.hash ? { hash: r.hash } : {}),
      ...(r.prev_hash ? { prevHash: r.prev_hash } : {}),
    }));
  }


  async query(filter: EventFilter = {}): Promise<StoredEvent[]> {
    return (await this.queryRows(filter)).map(eventOfRow);
  }

  async queryRows(filter: EventFilter = {}): Promise<StoredRow[]> {
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
    let sql = `SELECT ${this.columns} FROM events`;
    if (where.length) sql += ' WHERE ' + where.join(' AND ');
    sql += filter.descending ? ' ORDER BY seq DESC' : ' ORDER BY seq ASC';
    if (filter.limit !== undefined) (sql += ' LIMIT ?'), params.push(filter.limit);
    return this.raw(this.db.prepare(sql).all(...params) as unknown as Row[]);
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

/** The log holds every deploy reason, note and alert: owner only (0600), whatever the umask. */
function tightenModes(path: string): void {
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600);
    } catch {
      /* not there (yet) */
    }
  }
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}
