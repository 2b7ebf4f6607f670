import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { systemClock, type Clock, type TimerHandle } from '../../clock/clock.ts';
import { GreenlightError } from '../../errors/errors.ts';
import { eventOfRow, rowOf, validateEvents, type EventOf, type EventType, type NewEventOf, type StoredRow } from '../../events/catalogue/index.ts';
import type { EventFilter, EventLog, NewEvent, StoredEvent } from '../../events/log.ts';
import { migrate } from './migrations.ts';
import { CHAIN_STARTED, chainNext, GENESIS_HASH, legacyHead } from '../../audit/chain.ts';

const CHANNEL = 'greenlight_events';

export interface PostgresLogOptions {
  clock?: Clock;
  /**
   * The fencing token every append carries (the controller's lease token), read at each append;
   * undefined appends without one, which the database accepts only while no controller leads.
   */
  fence?: () => string | undefined;
  /** run migrations on open (default true); `store check` opens without */
  migrate?: boolean;
  /**
   * How long the server keeps a transaction of ours that waits for its next statement (default
   * 5 s). Over a partition an append cut off mid-transaction would otherwise hold the head row and
   * its FOR SHARE on the lease row until TCP gives up (hours): the standby could not take the
   * lease nor append. The server ends such a session after this long and the locks go with it.
   */
  idleInTransactionMs?: number;
}

interface Row {
  seq: string;
  id: string;
  type: string;
  v: number;
  time: string;
  actor: string;
  subject: string;
  data: Record<string, unknown>;
  hash: string | null;
  prev_hash: string | null;
}

const COLUMNS = 'seq, id, type, v, time, actor, subject, data, hash, prev_hash';

/**
 * The event log in PostgreSQL. Appends are serialized by the head row's lock, so seqs are gapless
 * and become visible in order; each commit NOTIFYs, and every log object LISTENs, so subscribers
 * see the appends of every process in seq order (what a standby controller's projection needs).
 */
export class PostgresEventLog implements EventLog {
  private readonly listeners = new Set<(e: StoredEvent) => void>();
  /** highest seq delivered to listeners; deliveries are chained so they stay in order */
  private delivered = 0;
  private delivery: Promise<void> = Promise.resolve();
  private listenClient: pg.Client | undefined;
  private reconnect: TimerHandle | undefined;
  private closed = false;

  private readonly pool: pg.Pool;
  private readonly url: string;
  private readonly where: string;
  private readonly clock: Clock;
  private readonly fence: () => string | undefined;

  private constructor(pool: pg.Pool, url: string, clock: Clock, fence: () => string | undefined) {
    this.pool = pool;
    this.url = url;
    this.where = redact(url);
    this.clock = clock;
    this.fence = fence;
  }

  static async open(url: string, opts: PostgresLogOptions = {}): Promise<PostgresEventLog> {
    const where = redact(url);
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000, idle_in_transaction_session_timeout: opts.idleInTransactionMs ?? 5000 });
    pool.on('error', () => undefined); // an idle client's broken connection: the next query reconnects
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw unavailable(where, err);
    }
    try {
      if (opts.migrate !== false) await migrate(client, where);
    } finally {
      client.release();
    }
    const log = new PostgresEventLog(pool, url, opts.clock ?? systemClock, opts.fence ?? (() => undefined));
    log.delivered = await log.lastSeq();
    if (opts.migrate !== false) await log.startChainIfLegacy();
    await log.listen();
    return log;
  }

  /**
   * A log from before the hash chain: mark where the chain starts. Best effort: a standby that may
   * not write leaves it to the leader, whose next append chains onto the old events all the same.
   */
  private async startChainIfLegacy(): Promise<void> {
    const r = await this.pool.query<{ hash: string | null }>('SELECT hash FROM greenlight_events ORDER BY seq DESC LIMIT 1');
    if (r.rows.length === 0 || r.rows[0]!.hash) return;
    const chained = await this.pool.query('SELECT 1 FROM greenlight_events WHERE hash IS NOT NULL LIMIT 1');
    if (chained.rows.length) return; // unhashed rows after chained ones: for audit verify to report
    const n = await this.pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM greenlight_events');
    await this.append({ type: CHAIN_STARTED, actor: 'controller', subject: 'audit', data: { legacyEvents: Number(n.rows[0]!.n), note: "events before this one were recorded without hashes; they are covered as one block by this event's prevHash" } }).catch(() => undefined);
  }

  /** The seq the head row has handed out: above the last row's when the tail was cut off. */
  async highWaterSeq(): Promise<number> {
    return this.lastSeq();
  }

  append<T extends EventType>(event: NewEventOf<T>): Promise<EventOf<T>>;
  append(event: NewEvent): Promise<StoredEvent>;
  async append(event: NewEvent): Promise<StoredEvent> {
    return (await this.appendAll([event]))[0]!;
  }

  async appendAll(events: NewEvent[]): Promise<StoredEvent[]> {
    if (events.length === 0) return [];
    // the door: every event of the batch is checked against the catalogue before the transaction
    const valid = validateEvents(events);
    const rows = valid.map((e) => {
      const r = rowOf(e, 0, randomUUID(), e.time ?? this.clock.now());
      return { ...r, text: JSON.stringify(r.data) };
    });
    const client = await this.connect();
    let first: number;
    let chained: ReturnType<typeof chainNext<StoredRow>>;
    try {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('greenlight.fence', $1, true)`, [this.fence() ?? 'none']);
      const head = await client.query('UPDATE greenlight_head SET seq = seq + $1 WHERE id = 1 RETURNING seq', [rows.length]);
      first = Number(head.rows[0].seq) - rows.length + 1;
      // the head row is locked now: no other writer can chain onto the same predecessor
      const prevRow = await client.query<{ hash: string | null }>('SELECT hash FROM greenlight_events WHERE seq < $1 ORDER BY seq DESC LIMIT 1', [first]);
      let prev = prevRow.rows[0] ? prevRow.rows[0].hash : GENESIS_HASH;
      if (prev === null) prev = legacyHead((await client.query<Row>(`SELECT ${COLUMNS} FROM greenlight_events ORDER BY seq`)).rows.map(rawRow));
      chained = chainNext(prev, rows.map(({ text: _text, ...r }, i) => ({ ...r, seq: first + i })));
      await client.query(
        `INSERT INTO greenlight_events (seq, id, type, time, actor, subject, data, hash, prev_hash, v)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::json[], $8::text[], $9::text[], $10::int[])`,
        [rows.map((_, i) => first + i), rows.map((r) => r.id), rows.map((r) => r.type), rows.map((r) => r.time), rows.map((r) => r.actor), rows.map((r) => r.subject), rows.map((r) => r.text), chained.map((c) => c.hash), chained.map((c) => c.prevHash), rows.map((r) => r.v)],
      );
      await client.query('SELECT pg_notify($1, $2)', [CHANNEL, String(first + rows.length - 1)]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw translate(err, this.where);
    } finally {
      client.release();
    }
    const stored: StoredEvent[] = chained.map(eventOfRow);
    await this.deliver(stored[stored.length - 1]!.seq, stored);
    return stored;
  }

  /**
   * `store migrate`: appends events copied from another log verbatim (seq, id, time, hashes).
   * They must continue this log exactly (first seq = head + 1, contiguous); all or none.
   */
  async importEvents(events: StoredRow[]): Promise<void> {
    if (events.length === 0) return;
    const client = await this.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('greenlight.fence', $1, true)`, [this.fence() ?? 'none']);
      const head = Number((await client.query('SELECT seq FROM greenlight_head WHERE id = 1 FOR UPDATE')).rows[0].seq);
      events.forEach((e, i) => {
        if (e.seq !== head + 1 + i) throw new GreenlightError('CONFLICT', `imported event ${e.seq} does not follow the target's head ${head + i}`, { hint: 'the target changed during the migration; run it again' });
      });
      await client.query(
        `INSERT INTO greenlight_events (seq, id, type, v, time, actor, subject, data, hash, prev_hash)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::text[], $8::json[], $9::text[], $10::text[])`,
        [events.map((e) => e.seq), events.map((e) => e.id), events.map((e) => e.type), events.map((e) => e.v), events.map((e) => e.time), events.map((e) => e.actor), events.map((e) => e.subject), events.map((e) => JSON.stringify(e.data)), events.map((e) => e.hash ?? null), events.map((e) => e.prevHash ?? null)],
      );
      await client.query('UPDATE greenlight_head SET seq = $1 WHERE id = 1', [events[events.length - 1]!.seq]);
      await client.query('SELECT pg_notify($1, $2)', [CHANNEL, String(events[events.length - 1]!.seq)]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw translate(err, this.where);
    } finally {
      client.release();
    }
  }

  /** Runs fn with a pooled client (the lease, store check). */
  async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.connect();
    try {
      return await fn(c);
    } finally {
      c.release();
    }
  }

  async query(filter: EventFilter = {}): Promise<StoredEvent[]> {
    return (await this.queryRows(filter)).map(eventOfRow);
  }

  async queryRows(filter: EventFilter = {}): Promise<StoredRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => (params.push(v), `$${params.length}`);
    if (filter.types && filter.types.length > 0) {
      const ors = filter.types.map((t) => (t.endsWith('*') ? `type LIKE ${p(escapeLike(t.slice(0, -1)) + '%')}` : `type = ${p(t)}`));
      where.push(`(${ors.join(' OR ')})`);
    }
    if (filter.subject) where.push(filter.subject.endsWith('*') ? `subject LIKE ${p(escapeLike(filter.subject.slice(0, -1)) + '%')}` : `subject = ${p(filter.subject)}`);
    if (filter.afterSeq !== undefined) where.push(`seq > ${p(filter.afterSeq)}`);
    if (filter.since !== undefined) where.push(`time >= ${p(filter.since)}`);
    if (filter.until !== undefined) where.push(`time <= ${p(filter.until)}`);
    let sql = `SELECT ${COLUMNS} FROM greenlight_events`;
    if (where.length) sql += ' WHERE ' + where.join(' AND ');
    sql += filter.descending ? ' ORDER BY seq DESC' : ' ORDER BY seq ASC';
    if (filter.limit !== undefined) sql += ` LIMIT ${p(filter.limit)}`;
    try {
      const r = await this.pool.query<Row>(sql, params);
      return r.rows.map(rawRow);
    } catch (err) {
      throw translate(err, this.where);
    }
  }

  async lastSeq(): Promise<number> {
    try {
      const r = await this.pool.query('SELECT seq FROM greenlight_head WHERE id = 1');
      return Number(r.rows[0]?.seq ?? 0);
    } catch (err) {
      throw translate(err, this.where);
    }
  }

  /** Every append to the log, from any process, in seq order, once each. */
  subscribe(listener: (e: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A pooled client for the leadership module's lease statements (same pool, same URL). */
  async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw unavailable(this.where, err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.reconnect?.cancel();
    await this.delivery.catch(() => undefined);
    await this.listenClient?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }

  /**
   * Hands listeners everything after `delivered` up to `upTo`: the events this process just
   * appended when they follow on directly, otherwise what the log holds in between (another
   * process's appends, announced by NOTIFY or discovered by a gap) read back in order.
   */
  private deliver(upTo: number, known: StoredEvent[] = []): Promise<void> {
    const step = this.delivery.then(async () => {
      while (this.delivered < upTo && !this.closed) {
        const next = known[0]?.seq === this.delivered + 1 ? known : await this.query({ afterSeq: this.delivered, limit: 1000 });
        if (next.length === 0) break;
        for (const e of next) {
          if (e.seq !== this.delivered + 1) break;
          this.delivered = e.seq;
          for (const l of this.listeners) {
            try {
              l(structuredClone(e));
            } catch {
              /* a listener's bug must not stop the others or the log */
            }
          }
        }
        known = [];
      }
    });
    this.delivery = step.catch(() => undefined);
    return step;
  }

  private async listen(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url });
    c.on('notification', (n) => void this.deliver(Number(n.payload)).catch(() => undefined));
    c.on('error', () => this.relisten(c));
    c.on('end', () => this.relisten(c));
    await c.connect();
    await c.query(`LISTEN ${CHANNEL}`);
    this.listenClient = c;
    // whatever was appended while not listening
    void this.deliver(await this.lastSeq()).catch(() => undefined);
  }

  private relisten(c: pg.Client): void {
    if (this.closed || this.listenClient !== c) return;
    this.listenClient = undefined;
    c.end().catch(() => undefined);
    this.reconnect = this.clock.setTimeout(() => {
      this.listen().catch(() => this.relisten(c));
    }, 500);
  }
}

/** A row as stored: what the hash chain covers. */
function rawRow(r: Row): StoredRow {
  return { seq: Number(r.seq), id: r.id, type: r.type, v: Number(r.v ?? 1), time: Number(r.time), actor: r.actor, subject: r.subject, data: r.data, ...(r.hash ? { hash: r.hash } : {}), ...(r.prev_hash ? { prevHash: r.prev_hash } : {}) };
}


function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparsable PostgreSQL URL>';
  }
}

function unavailable(where: string, err: unknown): GreenlightError {
  return new GreenlightError('STORE_UNAVAILABLE', `cannot reach the event store at ${where}: ${err instanceof Error ? err.message : String(err)}`, {
    retryable: true,
    hint: 'is PostgreSQL running and the store.url right (host, port, user, database)? `greenlight store check` tells more',
    cause: err,
  });
}

function translate(err: unknown, where: string): unknown {
  const code = (err as { code?: string }).code;
  if (code === 'GLFEN') {
    return new GreenlightError('FENCED', (err as Error).message.replace(/^greenlight: /, ''), {
      hint: 'another controller holds the lease now; this one must not write (it becomes a standby)',
      cause: err,
    });
  }
  if (code === 'ECONNREFUSED' || code === '57P01' || code === 'ETIMEDOUT' || /Connection terminated/.test(String((err as Error).message))) return unavailable(where, err);
  return err;
}
