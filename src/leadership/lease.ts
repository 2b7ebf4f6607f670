// Several controllers share one PostgreSQL store; one leads. The leader holds a lease row with an
// expiry measured by the database's clock (so the machines' clocks do not have to agree) and a
// fencing token that grows with every change of holder. Every append of the leader carries the
// token and the database refuses it once the lease is someone else's or has expired (see the
// greenlight_fence trigger in store/postgres/migrations.ts), so a leader that was paused and
// wakes up cannot write. Standbys try to take the lease over once it has expired.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock, TimerHandle } from '../clock/clock.ts';
import type { PostgresEventLog } from '../store/postgres/postgres-event-log.ts';
import { LEASE_NAME } from '../store/postgres/migrations.ts';

export interface LeaseHolder {
  holder: string;
  /** the leader's API, where standbys send writers */
  address: string;
  token: number;
  expiresAt: number;
  live: boolean;
}

export interface LeadershipOptions {
  log: PostgresEventLog;
  /** this controller's API URL, published while it leads */
  address: string;
  clock: Clock;
  /** how long a lease lasts without renewal; a standby takes over this long after the leader's last renewal */
  ttlMs: number;
  /** how often the leader renews and standbys look (default ttl / 4) */
  intervalMs?: number;
}

export class Leadership {
  readonly id: string;
  private readonly o: LeadershipOptions;
  private readonly interval: number;
  private tokenValue: number | undefined;
  /** local deadline: past it without a renewal we stop believing we lead */
  private validUntil = 0;
  private timer: TimerHandle | undefined;
  /** fires at validUntil: a renewal that hangs (a partition drops packets, nothing errors) cannot keep us leading */
  private deadline: TimerHandle | undefined;
  private stopped = false;
  private ticks = 0;
  private onElected: ((token: number) => void) | undefined;
  private onLost: ((why: string) => void) | undefined;

  constructor(o: LeadershipOptions) {
    this.o = o;
    this.interval = o.intervalMs ?? Math.max(100, Math.floor(o.ttlMs / 4));
    this.id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  /** The fencing token while this controller believes it leads; what every append carries. */
  fence(): string | undefined {
    return this.tokenValue === undefined ? undefined : String(this.tokenValue);
  }

  get token(): number | undefined {
    return this.tokenValue;
  }

  isLeader(): boolean {
    return this.tokenValue !== undefined && this.o.clock.now() < this.validUntil;
  }

  /** Takes the lease if nobody holds a live one; true when this controller now leads. */
  async tryAcquire(o: { abandoned?: () => boolean } = {}): Promise<boolean> {
    const started = this.o.clock.now();
    const c = await this.o.log.connect();
    try {
      const r = await c.query(
        `INSERT INTO greenlight_lease AS l (name, holder, address, token, expires_at, acquired_at)
         VALUES ($1, $2, $3, 1, clock_timestamp() + $4 * interval '1 millisecond', clock_timestamp())
         ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, address = EXCLUDED.address, token = l.token + 1,
           expires_at = EXCLUDED.expires_at, acquired_at = EXCLUDED.acquired_at
         WHERE l.expires_at < clock_timestamp()
         RETURNING token`,
        [LEASE_NAME, this.id, this.o.address, this.o.ttlMs],
      );
      if (r.rowCount === 0) return false;
      if (o.abandoned?.()) {
        // the caller gave up waiting (a partition that healed late): hand the lease straight back
        await c.query(`UPDATE greenlight_lease SET expires_at = clock_timestamp() WHERE name = $1 AND holder = $2 AND token = $3`, [LEASE_NAME, this.id, r.rows[0].token]);
        return false;
      }
      this.tokenValue = Number(r.rows[0].token);
      // counted from before the statement: our view of the lease never outlasts the database's
      this.extend(started + this.o.ttlMs);
      return true;
    } finally {
      c.release();
    }
  }

  /** Extends the lease; false when it is no longer ours (expired and taken, or never was). */
  async renew(): Promise<boolean> {
    if (this.tokenValue === undefined) return false;
    const started = this.o.clock.now();
    const c = await this.o.log.connect();
    try {
      const r = await c.query(
        `UPDATE greenlight_lease SET expires_at = clock_timestamp() + $4 * interval '1 millisecond'
         WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > clock_timestamp() RETURNING token`,
        [LEASE_NAME, this.id, this.tokenValue, this.o.ttlMs],
      );
      if (r.rowCount === 0) return false;
      if (this.tokenValue !== undefined) this.extend(started + this.o.ttlMs);
      return true;
    } finally {
      c.release();
    }
  }

  /** Records that this controller is alive at its address (each tick; leader and standby). */
  async present(): Promise<void> {
    const c = await this.o.log.connect();
    try {
      await c.query(
        `INSERT INTO greenlight_controllers (address, holder, seen_at) VALUES ($1, $2, clock_timestamp())
         ON CONFLICT (address) DO UPDATE SET holder = EXCLUDED.holder, seen_at = EXCLUDED.seen_at`,
        [this.o.address, this.id],
      );
    } finally {
      c.release();
    }
  }

  /** The API addresses of the controllers seen within the last minute, this one included. */
  async controllers(): Promise<string[]> {
    const c = await this.o.log.connect();
    try {
      const r = await c.query(`SELECT address FROM greenlight_controllers WHERE seen_at > clock_timestamp() - interval '1 minute' ORDER BY address`);
      return r.rows.map((row: { address: string }) => row.address);
    } finally {
      c.release();
    }
  }

  /** Who leads, as the database says (undefined: nobody ever did). */
  async current(): Promise<LeaseHolder | undefined> {
    const c = await this.o.log.connect();
    try {
      return await readLease(c);
    } finally {
      c.release();
    }
  }

  /**
   * Runs the loop: a standby tries to take the lease every interval and calls onElected when it
   * does; the leader renews every interval and calls onLost (once, then the loop ends) when the
   * lease is gone or could not be renewed before it would have expired.
   */
  start(handlers: { onElected: (token: number) => void; onLost: (why: string) => void }): void {
    this.onElected = handlers.onElected;
    this.onLost = handlers.onLost;
    if (this.tokenValue !== undefined) {
      this.extend(this.validUntil);
      this.onElected(this.tokenValue);
    }
    this.schedule();
  }

  /** Gives the lease up (a clean stop), so a standby takes over at once instead of after the ttl. */
  async release(): Promise<void> {
    this.stop();
    if (this.tokenValue === undefined) return;
    const token = this.tokenValue;
    this.tokenValue = undefined;
    const c = await this.o.log.connect().catch(() => undefined);
    if (!c) return;
    try {
      await c.query(`UPDATE greenlight_lease SET expires_at = clock_timestamp() WHERE name = $1 AND holder = $2 AND token = $3`, [LEASE_NAME, this.id, token]);
    } catch {
      /* it expires by itself */
    } finally {
      c.release();
    }
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.deadline?.cancel();
  }

  private extend(until: number): void {
    this.validUntil = until;
    this.deadline?.cancel();
    if (this.stopped || !this.onLost) return;
    this.deadline = this.o.clock.setTimeout(() => {
      if (this.tokenValue !== undefined && this.o.clock.now() >= this.validUntil) this.lose('the lease could not be renewed before it expired (the database is unreachable)');
    }, Math.max(0, until - this.o.clock.now()));
  }

  /**
   * A lease statement bounded in time: over a partition a query neither answers nor fails (the
   * packets are dropped, TCP retransmits for minutes), and a loop awaiting it would stop ticking.
   */
  private bounded<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const t = this.o.clock.setTimeout(() => resolve(undefined), Math.max(1, ms));
      p.then(
        (v) => (t.cancel(), resolve(v)),
        () => (t.cancel(), resolve(undefined)),
      );
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => void this.tick(), this.interval);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    // best effort and bounded: presence only helps dashboards find the leader
    if (this.ticks++ % 4 === 0) void this.bounded(this.present(), this.interval);
    try {
      if (this.tokenValue !== undefined) {
        const ok = await this.bounded(this.renew(), this.validUntil - this.o.clock.now());
        if (this.tokenValue === undefined) return; // lost meanwhile (the deadline fired)
        if (ok === false) return this.lose('another controller holds the lease now (this one was paused or cut off)');
        if (ok === undefined && this.o.clock.now() >= this.validUntil) return this.lose('the lease could not be renewed before it expired (the database is unreachable)');
      } else {
        let gaveUp = false;
        const won = await this.bounded(this.tryAcquire({ abandoned: () => gaveUp }), this.o.ttlMs);
        gaveUp = true;
        if (won) this.onElected?.(this.tokenValue!);
      }
    } finally {
      this.schedule();
    }
  }

  private lose(why: string): void {
    if (this.tokenValue === undefined) return;
    this.tokenValue = undefined;
    this.stop();
    this.onLost?.(why);
  }
}

export async function readLease(c: { query: (sql: string, params?: unknown[]) => Promise<{ rows: any[] }> }): Promise<LeaseHolder | undefined> {
  const r = await c.query(
    `SELECT holder, address, token, (extract(epoch from expires_at) * 1000)::bigint AS expires, expires_at > clock_timestamp() AS live FROM greenlight_lease WHERE name = $1`,
    [LEASE_NAME],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return { holder: row.holder, address: row.address, token: Number(row.token), expiresAt: Number(row.expires), live: row.live };
}
