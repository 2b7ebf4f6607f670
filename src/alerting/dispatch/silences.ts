// Silences, as in Alertmanager: label matchers plus a time window, attributed to a person with a
// reason. An alert matched by an active silence is not notified (it still exists and still inhibits
// others). Expiring a silence ends its window now; expired silences stay listed for the record.
// Each change is an event, so silences survive a restart by replaying them (restore()).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { duration } from '../../config/duration.ts';
import { GreenlightError } from '../../errors/errors.ts';
import type { EventLog } from '../../events/log.ts';
import { eventWith, type DataBesides } from '../../events/catalogue/index.ts';
import type { Labels } from '../../monitor/series/labels.ts';
import { formatMatcher, matchesAll, matcherInput, type Matcher } from './matchers.ts';

export type SilenceState = 'pending' | 'active' | 'expired';

export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
  updatedAt: number;
}

const isoTime = z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time like 2026-03-29T09:00:00Z' }).transform((s) => Date.parse(s));

/** What the API accepts to create a silence: ends_at or a duration from starts_at (now by default). */
export const silenceInputSchema = z
  .strictObject({
    matchers: z.array(matcherInput).min(1, { message: 'a silence needs at least one matcher' }),
    starts_at: isoTime.optional(),
    ends_at: isoTime.optional(),
    duration: duration.optional(),
    created_by: z.string().min(1),
    comment: z.string().min(1, { message: 'say why the alerts are silenced' }),
  })
  .refine((s) => (s.ends_at === undefined) !== (s.duration === undefined), { message: 'give either ends_at or duration', path: ['ends_at'] });
export type SilenceInput = z.input<typeof silenceInputSchema>;
export type ParsedSilenceInput = z.output<typeof silenceInputSchema>;

export interface SilencesOptions {
  clock: Clock;
  log?: EventLog;
  onError?: (err: unknown) => void;
}

export class Silences {
  private readonly silences = new Map<string, Silence>();
  private readonly timers = new Map<string, TimerHandle>();
  private readonly clock: Clock;
  private readonly log: EventLog | undefined;
  private readonly onError: (err: unknown) => void;

  constructor(opts: SilencesOptions) {
    this.clock = opts.clock;
    this.log = opts.log;
    this.onError = opts.onError ?? (() => {});
  }

  state(s: Silence, now: number = this.clock.now()): SilenceState {
    if (s.endsAt <= now) return 'expired';
    return s.startsAt > now ? 'pending' : 'active';
  }

  get(id: string): Silence | undefined {
    const s = this.silences.get(id);
    return s && { ...s, matchers: [...s.matchers] };
  }

  list(): Array<Silence & { state: SilenceState }> {
    const now = this.clock.now();
    return [...this.silences.values()].map((s) => ({ ...s, state: this.state(s, now) }));
  }

  /** Validates and adds a silence (input as the API receives it). */
  async create(input: unknown): Promise<Silence> {
    const parsed = silenceInputSchema.safeParse(input);
    if (!parsed.success) {
      throw new GreenlightError('USAGE', `invalid silence: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(silence)'}: ${i.message}`).join('; ')}`, {
        hint: 'a silence needs matchers, ends_at or duration, created_by and a comment',
      });
    }
    return this.add(parsed.data);
  }

  async add(p: ParsedSilenceInput): Promise<Silence> {
    const now = this.clock.now();
    const startsAt = Math.max(p.starts_at ?? now, now);
    const endsAt = p.ends_at ?? startsAt + (p.duration ?? 0);
    if (endsAt <= startsAt) {
      throw new GreenlightError('USAGE', 'a silence must end after it starts', { hint: 'set ends_at after starts_at (and after now)' });
    }
    // Alertmanager refuses silences whose matchers all match the empty string: they silence everything.
    if (p.matchers.every((m) => matchesAll([m], {}))) {
      throw new GreenlightError('USAGE', `the matchers ${p.matchers.map(formatMatcher).join(', ')} would silence every alert`, {
        hint: 'add at least one matcher that needs a label to be present, e.g. service="web"',
      });
    }
    const s: Silence = { id: randomUUID(), matchers: p.matchers, startsAt, endsAt, createdBy: p.created_by, comment: p.comment, updatedAt: now };
    this.silences.set(s.id, s);
    this.armExpiry(s);
    await this.append('silence.created', actorOf(s.createdBy), s, {
      matchers: s.matchers.map(formatMatcher),
      startsAt: s.startsAt,
      endsAt: s.endsAt,
      createdBy: s.createdBy,
      comment: s.comment,
    });
    return { ...s };
  }

  /** Ends a silence now; expiring an expired silence is an error, as in Alertmanager. */
  async expire(id: string, by: string): Promise<Silence> {
    const s = this.silences.get(id);
    if (!s) throw new GreenlightError('NOT_FOUND', `no silence ${id}`, { hint: 'list the silences to find its id' });
    const now = this.clock.now();
    if (this.state(s, now) === 'expired') throw new GreenlightError('CONFLICT', `silence ${id} has already expired`);
    s.endsAt = now;
    s.updatedAt = now;
    this.timers.get(id)?.cancel();
    this.timers.delete(id);
    await this.append('silence.expired', actorOf(by), s, { expiredBy: by, early: true });
    return { ...s };
  }

  /** Ids of the active silences matching these labels. */
  mutedBy(labels: Labels, now: number = this.clock.now()): string[] {
    const out: string[] = [];
    for (const s of this.silences.values()) {
      if (this.state(s, now) === 'active' && matchesAll(s.matchers, labels)) out.push(s.id);
    }
    return out;
  }

  /** Rebuilds the silences from the event log after a restart. */
  async restore(log: EventLog): Promise<number> {
    const events = await log.query({ types: ['silence.created', 'silence.expired'] });
    for (const e of events) {
      const id = e.subject.slice('silence/'.length);
      if (e.type === 'silence.created') {
        const d = e.data as { matchers?: string[]; startsAt?: number; endsAt?: number; createdBy?: string; comment?: string };
        const parsed = z.array(matcherInput).safeParse(d.matchers ?? []);
        if (!parsed.success || typeof d.startsAt !== 'number' || typeof d.endsAt !== 'number') continue;
        this.silences.set(id, { id, matchers: parsed.data, startsAt: d.startsAt, endsAt: d.endsAt, createdBy: String(d.createdBy ?? ''), comment: String(d.comment ?? ''), updatedAt: e.time });
      } else {
        const s = this.silences.get(id);
        if (s && (e.data as { early?: boolean }).early) s.endsAt = Math.min(s.endsAt, e.time);
      }
    }
    const now = this.clock.now();
    for (const s of this.silences.values()) if (this.state(s, now) !== 'expired') this.armExpiry(s);
    return this.silences.size;
  }

  stop(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }

  private armExpiry(s: Silence): void {
    this.timers.get(s.id)?.cancel();
    // The expiry is recorded when it happens so timelines show when alerts became audible again.
    this.timers.set(
      s.id,
      this.clock.setTimeout(() => {
        this.timers.delete(s.id);
        void this.append('silence.expired', 'alerting', s, { early: false }).catch(this.onError);
      }, s.endsAt - this.clock.now()),
    );
  }

  private async append<T extends 'silence.created' | 'silence.expired'>(type: T, actor: string, s: Silence, data: DataBesides<T, { id: string }>): Promise<void> {
    if (!this.log) return;
    try {
      await this.log.append(eventWith({ id: s.id }, { actor, subject: `silence/${s.id}` })(type, data));
    } catch (err) {
      this.onError(err);
    }
  }
}

function actorOf(who: string): string {
  return who.includes(':') ? who : `user:${who}`;
}
