// The drill schedule (`drills.schedule`): one drill every `every` from `start`, the scenarios in
// turn, participants picked in turn (from an on-call schedule's rotation, or a list), never
// inside a blackout window (a due drill moves to the window's end), reminders ahead, and a drill
// nobody started within `grace` of its time recorded as missed. Every decision is an event, so a
// restart picks up where it was; every timer reads the injected clock.
import type { Clock, TimerHandle } from '../clock/clock.ts';
import { describe } from '../errors/errors.ts';
import { event, ofType, type DataOf, type EventOf } from '../events/catalogue/index.ts';
import type { EventLog, StoredEvent } from '../events/log.ts';
import type { DrillSchedule } from './schema.ts';

export interface Slot {
  index: number;
  /** when it is due, after any blackout move */
  dueAt: number;
  /** the cadence's time, before a blackout moved it */
  plannedAt: number;
  movedBy?: string;
  scenario: string;
  participants: string[];
}

export interface SchedulerDeps {
  clock: Clock;
  events: EventLog;
  schedule: DrillSchedule;
  /** the people drills rotate through: the on-call schedule's rotation, or the configured list */
  pool: string[];
  /** tells the participants (their own notifiers); failures are recorded, never thrown */
  remind(participants: string[], text: string): Promise<void>;
  /** starts the slot's drill (auto_start); returns its id */
  start(slot: Slot): Promise<string>;
  onError?: (err: unknown) => void;
}

/** How far back a restarted controller looks for slots to settle (missed or done). */
const LOOKBACK_SLOTS = 10;

export function slotAt(s: DrillSchedule, pool: string[], index: number): Slot {
  const plannedAt = Date.parse(s.start) + index * s.every;
  let dueAt = plannedAt;
  let movedBy: string | undefined;
  // a window can end inside another: move until free
  for (let moved = true, guard = 0; moved && guard < 100; guard++) {
    moved = false;
    for (const b of s.blackout) {
      const from = Date.parse(b.from);
      const to = Date.parse(b.to);
      if (dueAt >= from && dueAt < to) {
        dueAt = to;
        movedBy = b.reason ?? `blackout ${b.from} to ${b.to}`;
        moved = true;
      }
    }
  }
  const n = pool.length;
  const participants = n === 0 ? [] : Array.from({ length: Math.min(s.team_size, n) }, (_, k) => pool[(index * s.team_size + k) % n]!);
  return { index, dueAt, plannedAt, ...(movedBy ? { movedBy } : {}), scenario: s.scenarios[index % s.scenarios.length]!, participants };
}

export class DrillScheduler {
  private readonly d: SchedulerDeps;
  private timer: TimerHandle | null = null;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(deps: SchedulerDeps) {
    this.d = deps;
  }

  start(): Promise<void> {
    return this.tick();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** The next slots, for the dashboard and `greenlight drill schedule`. */
  upcoming(n = 3): Slot[] {
    const now = this.d.clock.now();
    const out: Slot[] = [];
    for (let i = Math.max(0, this.indexAt(now) - 1); out.length < n && i < 10_000; i++) {
      const slot = slotAt(this.d.schedule, this.d.pool, i);
      if (slot.dueAt + this.d.schedule.grace > now) out.push(slot);
    }
    return out;
  }

  private indexAt(t: number): number {
    return Math.max(0, Math.floor((t - Date.parse(this.d.schedule.start)) / this.d.schedule.every));
  }

  private tick(): Promise<void> {
    this.running = this.running.then(() => this.evaluate()).catch((err: unknown) => this.d.onError?.(err));
    return this.running;
  }

  private async evaluate(): Promise<void> {
    if (this.stopped) return;
    const { clock, schedule: s, events } = this.d;
    const now = clock.now();
    const log = await events.query({ types: ['drill.*'] });
    const recorded = (type: string, index: number, extra?: (e: StoredEvent) => boolean) => log.some((e) => e.type === type && (e.data as { slot?: unknown }).slot === index && (!extra || extra(e)));
    let next = Infinity;
    const first = Math.max(0, this.indexAt(now) - LOOKBACK_SLOTS);
    for (let i = first; i <= this.indexAt(now) + 1; i++) {
      const slot = slotAt(s, this.d.pool, i);
      if (recorded('drill.missed', i) || recorded('drill.slot.done', i)) continue;
      const base = { slot: i, dueAt: slot.dueAt, plannedAt: slot.plannedAt, scenario: slot.scenario, participants: slot.participants, environment: s.environment, ...(slot.movedBy ? { movedBy: slot.movedBy } : {}) };
      // reminders ahead (the nearest only, when several are already past: no burst of old reminders)
      const dueReminders = s.remind.filter((r) => slot.dueAt - r <= now && now < slot.dueAt);
      const nearest = dueReminders.length ? Math.min(...dueReminders) : undefined;
      if (nearest !== undefined && !recorded('drill.reminder.sent', i, (e) => (e.data as { ahead?: unknown }).ahead === nearest)) {
        const when = new Date(slot.dueAt).toISOString().replace('T', ' ').slice(0, 16);
        const text = `DRILL reminder: ${slot.scenario} in ${s.environment} at ${when} UTC with ${slot.participants.join(', ') || 'the on-call'}${slot.movedBy ? ` (moved by ${slot.movedBy})` : ''}`;
        let error: string | undefined;
        await this.d.remind(slot.participants, text).catch((err: unknown) => (error = describe(err)));
        await this.record('drill.reminder.sent', { ...base, ahead: nearest, text, ...(error ? { error } : {}) });
      }
      for (const r of s.remind) if (slot.dueAt - r > now) next = Math.min(next, slot.dueAt - r);
      if (now < slot.dueAt) {
        next = Math.min(next, slot.dueAt);
        continue;
      }
      // due: a drill started in its window (by hand or by us) fulfils it
      const started = log.filter(ofType('drill.started')).find((e) => e.time >= slot.dueAt - Math.max(0, ...s.remind) && e.time <= slot.dueAt + s.grace && e.data.environment === s.environment);
      if (started) {
        await this.record('drill.slot.done', { ...base, drillId: started.data.drillId });
        continue;
      }
      if (now >= slot.dueAt + s.grace) {
        await this.record('drill.missed', { ...base, reason: s.auto_start ? 'the drill could not start' : `nobody started it within ${Math.round(s.grace / 60_000)} min of its time` });
        continue;
      }
      if (s.auto_start && !recorded('drill.slot.start_failed', i)) {
        try {
          const id = await this.d.start(slot);
          await this.record('drill.slot.done', { ...base, drillId: id });
          continue;
        } catch (err) {
          await this.record('drill.slot.start_failed', { ...base, error: describe(err) });
        }
      }
      next = Math.min(next, slot.dueAt + s.grace);
    }
    if (next !== Infinity && !this.stopped) {
      this.timer?.cancel();
      // re-check at least hourly: a drill started by hand settles its slot between timers
      this.timer = clock.setTimeout(() => void this.tick(), Math.max(1, Math.min(next - now, 3_600_000)));
    }
  }

  private record<T extends 'drill.reminder.sent' | 'drill.slot.done' | 'drill.slot.start_failed' | 'drill.missed'>(type: T, data: DataOf<T>): Promise<EventOf<T>> {
    return this.d.events.append(event(type, { actor: 'drills:schedule', subject: `drill-schedule/${String((data as { slot: number }).slot)}`, data }));
  }
}
