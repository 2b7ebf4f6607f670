// Escalation policies, as in PagerDuty: a page goes to the first level's people; when nobody
// acknowledges within that level's timeout it escalates to the next level, and after the last level
// the whole policy starts over, `repeat` more times. Acknowledging stops the escalation, resolving
// ends the page, snoozing silences it for a while and then pages the current level again.
// Every step is an event on `incident/<id>` (when the alert joined an incident) or `alert/<key>`,
// so the timeline shows who was paged when, and how long the acknowledgement took.
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { GreenlightError } from '../../errors/errors.ts';
import { pages, type EventLog, type StoredEvent } from '../../events/log.ts';
import { fanOut } from '../notifiers/fanout.ts';
import type { Notification, Notifier } from '../notifiers/notifier.ts';
import { buildActionLinks, type LinkSigner } from './links.ts';
import { whoIsOnCall, type Schedule } from './schedule.ts';

export type LevelTarget = { user: string } | { schedule: string };

export interface EscalationLevel {
  targets: LevelTarget[];
  /** how long this level has to acknowledge before the next level is paged */
  ackTimeoutMs: number;
}

export interface EscalationPolicy {
  name: string;
  levels: EscalationLevel[];
  /** how many more times the whole policy runs after the first pass */
  repeat: number;
  /** snooze length when the snooze action names none; 1 h by default */
  snoozeMs?: number;
}

export interface Person {
  name?: string | undefined;
  email?: string | undefined;
  /** how to reach this person; the receiver's notifiers when absent */
  notifiers?: readonly Notifier[] | undefined;
}

export type PageState = 'triggered' | 'acknowledged' | 'snoozed' | 'resolved';

export interface Page {
  id: string;
  /** one open page per key: the receiver and alert group it pages for */
  key: string;
  policy: string;
  subject: string;
  state: PageState;
  level: number;
  round: number;
  createdAt: number;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  snoozedUntil?: number;
  resolvedAt?: number;
  /** every page delivery, in order */
  paged: Array<{ user: string; level: number; round: number; at: number; ok: boolean }>;
  /** true once every level of every round was paged without an acknowledgement */
  exhausted: boolean;
  notification: Notification;
}

export interface TriggerInput {
  key: string;
  policy: string;
  /** the group's notification; each person gets a copy with themselves as recipient and signed links */
  notification: Notification;
  /** how to reach people who have no notifiers of their own */
  notifiers: readonly Notifier[];
}

export interface EscalationOptions {
  clock: Clock;
  log: EventLog;
  policies: ReadonlyMap<string, EscalationPolicy>;
  schedules: ReadonlyMap<string, Schedule>;
  people?: ReadonlyMap<string, Person>;
  links?: LinkSigner;
  /** bounds one level's deliveries; 30 s by default */
  deliveryDeadlineMs?: number;
  onError?: (err: unknown) => void;
}

interface Internal extends Page {
  timer?: TimerHandle;
  /** bumped at every transition so a stale timer does nothing */
  generation: number;
  fallback: readonly Notifier[];
  /** every notifier a trigger went through, for the acknowledge and resolve follow-ups */
  reached: Map<Notifier, { user: string }>;
}

export function pageSubject(n: Pick<Notification, 'incidentId' | 'dedupKey'>): string {
  return n.incidentId ? `incident/${n.incidentId}` : `alert/${n.dedupKey}`;
}

export class EscalationEngine {
  private readonly pages = new Map<string, Internal>();
  private readonly open = new Map<string, string>();
  private readonly o: EscalationOptions;

  constructor(opts: EscalationOptions) {
    this.o = opts;
    for (const p of opts.policies.values()) {
      if (p.levels.length === 0) throw new GreenlightError('CONFIG_INVALID', `escalation policy ${p.name} has no levels`);
      for (const l of p.levels) {
        for (const t of l.targets) {
          if ('schedule' in t && !opts.schedules.has(t.schedule)) {
            throw new GreenlightError('CONFIG_INVALID', `escalation policy ${p.name} names schedule ${t.schedule}, which is not defined`);
          }
        }
      }
    }
  }

  get(id: string): Page | undefined {
    const p = this.pages.get(id);
    return p && publicView(p);
  }

  list(): Page[] {
    return [...this.pages.values()].map(publicView);
  }

  openPage(key: string): Page | undefined {
    const id = this.open.get(key);
    return id === undefined ? undefined : this.get(id);
  }

  /** Starts paging for `key`, or, when a page for it is open, updates what it is about. */
  async trigger(input: TriggerInput): Promise<Page> {
    const existing = this.open.get(input.key);
    if (existing !== undefined) {
      const p = this.pages.get(existing)!;
      p.notification = input.notification;
      p.fallback = input.notifiers;
      return publicView(p);
    }
    const policy = this.o.policies.get(input.policy);
    if (!policy) throw new GreenlightError('CONFIG_INVALID', `no escalation policy named ${input.policy}`);
    const p: Internal = {
      id: randomUUID(),
      key: input.key,
      policy: policy.name,
      subject: pageSubject(input.notification),
      state: 'triggered',
      level: 0,
      round: 0,
      createdAt: this.o.clock.now(),
      paged: [],
      exhausted: false,
      notification: input.notification,
      generation: 0,
      fallback: input.notifiers,
      reached: new Map(),
    };
    this.pages.set(p.id, p);
    this.open.set(p.key, p.id);
    // What a controller starting later needs to carry the page on: its key and what it says.
    await this.append(p, 'page.triggered', 'alerting', { key: p.key, notification: p.notification });
    await this.pageLevel(p, policy, 'triggered', 0);
    return publicView(p);
  }

  /**
   * Rebuilds the pages from the log (on start, and when a standby takes over) and re-arms their
   * timers where they were: a level's acknowledgement timeout runs from the recorded page, a
   * snooze until its recorded end. A timer that fell due while no controller ran fires at once and
   * its event says how late (lateByMs). `fallbackFor(key)` gives back the receiver's notifiers.
   */
  async restore(log: EventLog, fallbackFor: (key: string) => readonly Notifier[] = () => []): Promise<{ open: number; late: number }> {
    const due = new Map<string, { at: number; kind: 'ack' | 'snooze' | 'unsent' }>();
    for await (const page of pages(log, { types: ['page.*'] })) {
      for (const e of page) this.replay(e, fallbackFor, due);
    }
    const now = this.o.clock.now();
    let open = 0;
    let late = 0;
    for (const p of this.pages.values()) {
      if (p.state === 'resolved' || p.state === 'acknowledged' || p.exhausted) continue;
      const policy = this.o.policies.get(p.policy);
      if (!policy) continue; // the policy was removed from the config: nothing to escalate to
      open++;
      const d = p.state === 'snoozed' ? { at: p.snoozedUntil ?? now, kind: 'snooze' as const } : (due.get(p.id) ?? { at: now, kind: 'unsent' as const });
      if (d.at < now) late++;
      this.arm(p, policy, d.at, d.kind);
    }
    return { open, late };
  }

  private replay(e: StoredEvent, fallbackFor: (key: string) => readonly Notifier[], due: Map<string, { at: number; kind: 'ack' | 'snooze' | 'unsent' }>): void {
    const d = e.data as Record<string, unknown> & { pageId?: string };
    const id = d.pageId;
    if (typeof id !== 'string') return;
    if (e.type === 'page.triggered') {
      const key = String(d.key);
      const policy = String(d.policy);
      const p: Internal = {
        id, key, policy, subject: e.subject, state: 'triggered', level: 0, round: 0, createdAt: e.time, paged: [], exhausted: false,
        notification: d.notification as Notification, generation: 0, fallback: fallbackFor(key), reached: new Map(),
      };
      this.pages.set(id, p);
      this.open.set(key, id);
      return;
    }
    const p = this.pages.get(id);
    if (!p) return; // a page from before page.triggered was recorded: cannot be carried on
    const num = (k: string) => (typeof d[k] === 'number' ? (d[k] as number) : undefined);
    switch (e.type) {
      case 'page.sent': {
        p.level = num('level') ?? p.level;
        p.round = num('round') ?? p.round;
        const delivered = new Set(Array.isArray(d.delivered) ? (d.delivered as string[]) : []);
        for (const user of Array.isArray(d.users) ? (d.users as string[]) : []) {
          p.paged.push({ user, level: p.level, round: p.round, at: e.time, ok: delivered.has(user) });
          const person = this.o.people?.get(user);
          for (const nt of person?.notifiers?.length ? person.notifiers : p.fallback) p.reached.set(nt, { user });
        }
        if (p.state === 'snoozed' && (p.snoozedUntil ?? 0) <= e.time) {
          p.state = 'triggered';
          delete p.snoozedUntil;
        }
        due.set(id, { at: num('dueAt') ?? e.time + (num('ackTimeoutMs') ?? 0), kind: 'ack' });
        break;
      }
      case 'page.escalated':
        if (num('toLevel') !== undefined) p.level = num('toLevel')!;
        p.round = num('round') ?? p.round;
        due.set(id, { at: e.time, kind: 'unsent' }); // until the next level's page.sent says otherwise
        break;
      case 'page.acknowledged':
        p.state = 'acknowledged';
        p.acknowledgedAt = e.time;
        p.acknowledgedBy = e.actor;
        delete p.snoozedUntil;
        break;
      case 'page.snoozed':
        p.state = 'snoozed';
        p.snoozedUntil = num('until') ?? e.time;
        break;
      case 'page.resolved':
        p.state = 'resolved';
        p.resolvedAt = e.time;
        if (this.open.get(p.key) === p.id) this.open.delete(p.key);
        break;
      case 'page.exhausted':
        p.exhausted = true;
        break;
    }
  }

  /** A restored page's next step at `at`: escalate (ack timeout), page again (snooze over) or page now (never sent). */
  private arm(p: Internal, policy: EscalationPolicy, at: number, kind: 'ack' | 'snooze' | 'unsent'): void {
    const gen = ++p.generation;
    p.timer = this.o.clock.setTimeout(() => {
      if (p.generation !== gen) return;
      const lateByMs = Math.max(0, this.o.clock.now() - at);
      const late = lateByMs > 0 ? { lateByMs } : {};
      const run = async () => {
        if (kind === 'ack') {
          if (p.state !== 'triggered') return;
          const lvl = policy.levels[p.level] ?? policy.levels[0]!;
          await this.next(p, policy, gen, 0, `not acknowledged within ${Math.round(lvl.ackTimeoutMs / 1000)} s${lateNote(lateByMs)}`, late);
        } else if (kind === 'snooze') {
          p.state = 'triggered';
          delete p.snoozedUntil;
          await this.pageLevel(p, policy, `snooze ended${lateNote(lateByMs)}`, p.level, 0, late);
        } else {
          await this.pageLevel(p, policy, 'resumed after a controller restart: this level\'s page was not recorded as sent', p.level, 0, late);
        }
      };
      run().catch((err: unknown) => this.o.onError?.(err));
    }, Math.max(0, at - this.o.clock.now()));
  }

  async acknowledge(id: string, by: string): Promise<Page> {
    const p = this.mustGet(id);
    if (p.state === 'resolved') throw new GreenlightError('CONFLICT', `page ${id} is already resolved`);
    if (p.state === 'acknowledged') return publicView(p);
    const now = this.o.clock.now();
    this.halt(p);
    p.state = 'acknowledged';
    p.acknowledgedAt = now;
    p.acknowledgedBy = by;
    delete p.snoozedUntil;
    await this.append(p, 'page.acknowledged', by, { level: p.level, round: p.round, timeToAcknowledgeMs: now - p.createdAt });
    await this.followUp(p, 'acknowledge', by);
    return publicView(p);
  }

  async snooze(id: string, by: string, ms?: number): Promise<Page> {
    const p = this.mustGet(id);
    if (p.state === 'resolved') throw new GreenlightError('CONFLICT', `page ${id} is already resolved`);
    const policy = this.o.policies.get(p.policy)!;
    const length = ms ?? policy.snoozeMs ?? 3_600_000;
    const now = this.o.clock.now();
    this.halt(p);
    p.state = 'snoozed';
    p.snoozedUntil = now + length;
    const gen = p.generation;
    p.timer = this.o.clock.setTimeout(() => {
      if (p.generation !== gen) return;
      p.state = 'triggered';
      delete p.snoozedUntil;
      this.pageLevel(p, policy, 'snooze ended', p.level).catch((err: unknown) => this.o.onError?.(err));
    }, length);
    await this.append(p, 'page.snoozed', by, { until: p.snoozedUntil, durationMs: length, level: p.level });
    return publicView(p);
  }

  async resolve(id: string, by: string, reason = 'resolved'): Promise<Page> {
    const p = this.mustGet(id);
    if (p.state === 'resolved') return publicView(p);
    const now = this.o.clock.now();
    this.halt(p);
    p.state = 'resolved';
    p.resolvedAt = now;
    if (this.open.get(p.key) === p.id) this.open.delete(p.key);
    await this.append(p, 'page.resolved', by, { reason, durationMs: now - p.createdAt, acknowledged: p.acknowledgedAt !== undefined });
    await this.followUp(p, 'resolve', by);
    return publicView(p);
  }

  /** Resolves the open page for `key`, if any (the alerts behind it resolved). */
  async resolveKey(key: string, by: string, reason: string): Promise<Page | undefined> {
    const id = this.open.get(key);
    return id === undefined ? undefined : this.resolve(id, by, reason);
  }

  stop(): void {
    for (const p of this.pages.values()) this.halt(p);
  }

  private mustGet(id: string): Internal {
    const p = this.pages.get(id);
    if (!p) throw new GreenlightError('NOT_FOUND', `no page ${id}`, { hint: 'the page may belong to a controller that restarted; open Greenlight to see current pages' });
    return p;
  }

  private halt(p: Internal): void {
    p.generation++;
    p.timer?.cancel();
    delete p.timer;
  }

  /** Who a level reaches now: its users, and whoever is on call in its schedules; each person once. */
  private resolveTargets(level: EscalationLevel, now: number): string[] {
    const out: string[] = [];
    for (const t of level.targets) {
      const user = 'user' in t ? t.user : whoIsOnCall(this.o.schedules.get(t.schedule)!, now)?.user;
      if (user !== undefined && !out.includes(user)) out.push(user);
    }
    return out;
  }

  private async pageLevel(p: Internal, policy: EscalationPolicy, reason: string, level: number, emptyInARow = 0, extra: Record<string, unknown> = {}): Promise<void> {
    const gen = ++p.generation;
    p.level = level;
    const now = this.o.clock.now();
    const lvl = policy.levels[level]!;
    const users = this.resolveTargets(lvl, now);
    if (users.length === 0) {
      // Nobody to page at this level (a gap in a schedule): escalate at once rather than wait in silence.
      await this.append(p, 'page.escalated', 'alerting', { fromLevel: level, round: p.round, reason: 'nobody on call at this level' });
      if (emptyInARow + 1 >= policy.levels.length * (policy.repeat + 1)) {
        p.exhausted = true;
        await this.append(p, 'page.exhausted', 'alerting', { reason: 'no level has anyone to page' });
        return;
      }
      await this.next(p, policy, gen, emptyInARow + 1);
      return;
    }
    const results = await Promise.all(users.map((u) => this.deliver(p, u, level)));
    // Recorded even when an acknowledgement raced the delivery: the people were paged all the same.
    await this.append(p, 'page.sent', 'alerting', {
      level,
      round: p.round,
      reason,
      users,
      delivered: results.filter((r) => r.ok).map((r) => r.user),
      failed: results.filter((r) => !r.ok).map((r) => ({ user: r.user, error: r.error })),
      ackTimeoutMs: lvl.ackTimeoutMs,
      // when this level's time is up, recorded so a controller starting later keeps the same deadline
      dueAt: now + lvl.ackTimeoutMs,
      ...extra,
    });
    if (p.generation !== gen) return;
    p.timer = this.o.clock.setTimeout(() => {
      if (p.generation !== gen || p.state !== 'triggered') return;
      this.next(p, policy, gen, 0, `not acknowledged within ${Math.round(lvl.ackTimeoutMs / 1000)} s`).catch((err: unknown) => this.o.onError?.(err));
    }, Math.max(0, lvl.ackTimeoutMs - (this.o.clock.now() - now)));
  }

  private async next(p: Internal, policy: EscalationPolicy, gen: number, emptyInARow: number, why?: string, extra: Record<string, unknown> = {}): Promise<void> {
    if (p.generation !== gen) return;
    const from = p.level;
    let level = from + 1;
    if (level >= policy.levels.length) {
      if (p.round >= policy.repeat) {
        p.exhausted = true;
        await this.append(p, 'page.exhausted', 'alerting', { reason: `nobody acknowledged after ${policy.repeat + 1} pass(es) through policy ${policy.name}` });
        return;
      }
      p.round++;
      level = 0;
    }
    if (why !== undefined) await this.append(p, 'page.escalated', 'alerting', { fromLevel: from, toLevel: level, round: p.round, reason: why, ...extra });
    if (p.generation !== gen) return;
    await this.pageLevel(p, policy, why ?? 'escalated', level, emptyInARow);
  }

  private async deliver(p: Internal, user: string, level: number): Promise<{ user: string; ok: boolean; error?: string }> {
    const person = this.o.people?.get(user);
    const notifiers = person?.notifiers && person.notifiers.length > 0 ? person.notifiers : p.fallback;
    const now = this.o.clock.now();
    const n: Notification = {
      ...p.notification,
      id: randomUUID(),
      action: 'trigger',
      recipient: { name: person?.name ?? user, ...(person?.email ? { email: person.email } : {}) },
    };
    if (this.o.links) n.links = { ...p.notification.links, ...buildActionLinks(this.o.links, p.id, now, user) };
    if (notifiers.length === 0) {
      p.paged.push({ user, level, round: p.round, at: now, ok: false });
      return { user, ok: false, error: 'no notifier reaches this person' };
    }
    for (const nt of notifiers) p.reached.set(nt, { user });
    const outcomes = await fanOut(notifiers, n, { clock: this.o.clock, deadlineMs: this.o.deliveryDeadlineMs ?? 30_000 });
    const ok = outcomes.some((o) => o.result.ok);
    p.paged.push({ user, level, round: p.round, at: now, ok });
    return ok ? { user, ok } : { user, ok, error: outcomes.map((o) => `${o.name}: ${o.result.error ?? 'failed'}`).join('; ') };
  }

  /** Tells the channels that carried the page that it was acknowledged or resolved (best effort). */
  private async followUp(p: Internal, action: 'acknowledge' | 'resolve', by: string): Promise<void> {
    if (p.reached.size === 0) return;
    const n: Notification = { ...p.notification, id: randomUUID(), action };
    delete n.links;
    n.annotations = { ...n.annotations, [action === 'acknowledge' ? 'acknowledged_by' : 'resolved_by']: by };
    try {
      await fanOut([...p.reached.keys()], n, { clock: this.o.clock, deadlineMs: this.o.deliveryDeadlineMs ?? 30_000 });
    } catch (err) {
      this.o.onError?.(err);
    }
  }

  private async append(p: Internal, type: string, actor: string, data: Record<string, unknown>): Promise<void> {
    try {
      await this.o.log.append({
        type,
        actor,
        subject: p.subject,
        data: { pageId: p.id, policy: p.policy, dedupKey: p.notification.dedupKey, ...(p.notification.incidentId ? { incidentId: p.notification.incidentId } : {}), ...data },
      });
    } catch (err) {
      this.o.onError?.(err);
    }
  }
}

function lateNote(ms: number): string {
  return ms > 0 ? ` (late by ${(ms / 1000).toFixed(1)} s: no controller was leading when it fell due)` : '';
}

function publicView(p: Internal): Page {
  const { timer: _t, generation: _g, fallback: _f, reached: _r, ...rest } = p;
  return structuredClone({ ...rest, paged: [...rest.paged] });
}
