// Versioned schema migrations of the PostgreSQL store, run on start. Each migration runs once, in
// its own transaction, recorded in greenlight_schema; every controller starting at once is safe
// because the runner holds a transaction-level advisory lock. A database whose schema is newer
// than this Greenlight knows is refused rather than written to with wrong assumptions.
import type pg from 'pg';
import { GreenlightError } from '../../errors/errors.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The lease row every controller competes for; the fencing token is its `token`. */
export const LEASE_NAME = 'controller';

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'event log',
    sql: `
      CREATE TABLE greenlight_events (
        seq BIGINT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        time BIGINT NOT NULL,
        actor TEXT NOT NULL,
        subject TEXT NOT NULL,
        -- json, not jsonb: the text is kept as written (key order, numbers), as a hash chain needs
        data JSON NOT NULL
      );
      CREATE INDEX greenlight_events_type ON greenlight_events (type text_pattern_ops);
      CREATE INDEX greenlight_events_subject ON greenlight_events (subject text_pattern_ops);
      CREATE INDEX greenlight_events_time ON greenlight_events (time);
      -- One row whose lock serializes appends: seqs are gapless and commit in seq order, so a
      -- reader that has seen seq N never later finds an N-1 it missed (a plain sequence allows that).
      CREATE TABLE greenlight_head (id INT PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL);
      INSERT INTO greenlight_head VALUES (1, 0);
      CREATE FUNCTION greenlight_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the event log is append-only'; END $$;
      CREATE TRIGGER greenlight_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON greenlight_events
        FOR EACH STATEMENT EXECUTE FUNCTION greenlight_append_only();
    `,
  },
  {
    version: 2,
    name: 'controller lease and fencing',
    sql: `
      CREATE TABLE greenlight_lease (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        address TEXT NOT NULL,
        token BIGINT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        acquired_at TIMESTAMPTZ NOT NULL
      );
      -- Fencing, enforced by the database: an append carries its writer's token in the
      -- transaction setting greenlight.fence. It is accepted only if that token is the lease's and
      -- the lease has not expired (by the database's clock); a writer without a token ('none', the
      -- migration tool, tests) only while no controller holds a live lease. FOR SHARE makes a
      -- takeover wait for appends in flight, so every append is ordered before or after it.
      CREATE FUNCTION greenlight_fence() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          claimed TEXT := COALESCE(NULLIF(current_setting('greenlight.fence', true), ''), 'none');
          l RECORD;
        BEGIN
          SELECT token, holder, expires_at > clock_timestamp() AS live INTO l
            FROM greenlight_lease WHERE name = '${LEASE_NAME}' FOR SHARE;
          IF claimed = 'none' THEN
            IF FOUND AND l.live THEN
              RAISE EXCEPTION 'greenlight: write without a fencing token while % leads (token %)', l.holder, l.token
                USING ERRCODE = 'GLFEN';
            END IF;
          ELSIF NOT FOUND OR NOT l.live OR l.token::text <> claimed THEN
            RAISE EXCEPTION 'greenlight: fenced: token % is not the live lease''s (holder %, token %, live %)',
              claimed, l.holder, l.token, l.live USING ERRCODE = 'GLFEN';
          END IF;
          RETURN NULL;
        END $$;
      CREATE TRIGGER greenlight_events_fence BEFORE INSERT ON greenlight_events
        FOR EACH STATEMENT EXECUTE FUNCTION greenlight_fence();
    `,
  },
  {
    version: 3,
    name: 'hash chain',
    // computed by the appender (src/audit/chain.ts), under the head row's lock; rows from before
    // this migration keep NULL and are covered as one block by the first chained event
    sql: `
      ALTER TABLE greenlight_events ADD COLUMN hash TEXT, ADD COLUMN prev_hash TEXT;
    `,
  },
  {
    version: 4,
    name: 'event versions',
    // the catalogue version of each event's type when it was written (src/events/catalogue);
    // rows from before are version 1 of their types, and readers upcast them
    sql: `
      ALTER TABLE greenlight_events ADD COLUMN v INT NOT NULL DEFAULT 1;
    `,
  },
  {
    version: 5,
    name: 'controllers',
    // every controller of the store, leader or standby, says where its API is, each lease tick:
    // an open dashboard whose controller went away asks the others who leads now
    sql: `
      CREATE TABLE greenlight_controllers (address TEXT PRIMARY KEY, holder TEXT NOT NULL, seen_at TIMESTAMPTZ NOT NULL);
    `,
  },
];

const LOCK_KEY = 0x67_6c_6d; // "glm": the migration runner's advisory lock

export async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const t = await client.query(`SELECT to_regclass('greenlight_schema') AS t`);
  if (!t.rows[0]?.t) return 0;
  const r = await client.query('SELECT COALESCE(MAX(version), 0) AS v FROM greenlight_schema');
  return Number(r.rows[0].v);
}

/** Brings the schema to the latest version; returns the versions applied now. */
export async function migrate(client: pg.ClientBase, where: string): Promise<number[]> {
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS greenlight_schema (version INT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const current = await schemaVersion(client);
    const latest = migrations[migrations.length - 1]!.version;
    if (current > latest) {
      throw new GreenlightError('STORE_UNAVAILABLE', `the event store at ${where} has schema version ${current}; this Greenlight knows up to ${latest}`, {
        hint: 'upgrade Greenlight on this machine to the version the other controllers run; nothing was written',
      });
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO greenlight_schema (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return applied;
}
