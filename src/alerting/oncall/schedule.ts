// On-call schedules as in PagerDuty: layers of rotations, later layers winning wherever they have
// someone, and overrides (X covers from A to B) winning over every layer. A rotation hands off at
// a local wall-clock time in its IANA zone: turn k starts at start_date + handoff + k * length, all
// on the wall clock, so a weekly 09:00 handoff in Europe/Paris stays at 09:00 across the
// daylight-saving changes (the turn spanning the change is an hour shorter or longer).
import { GreenlightError } from '../../errors/errors.ts';
import { fromLocal, parseLocalDate, parseTimeOfDay, startOfLocalDay, toLocal, weekdayOf, type Weekday } from './zone.ts';

const DAY = 86_400_000;

/** Parsed config of one layer (durations in ms, times as written). */
export interface LayerConfig {
  name?: string | undefined;
  users: string[];
  /** wall-clock length of one turn, e.g. 1 week = 604,800,000 */
  length: number;
  /** local time of the handoff, "09:00" */
  handoff: string;
  /** local date of the first turn's handoff, "2026-03-02"; nobody is on call in this layer before it */
  start: string;
  /** IANA zone; the schedule's when absent */
  time_zone?: string | undefined;
  /** when present, the layer only covers these local windows (e.g. weekdays 09:00-18:00) */
  restrictions?: Array<{ days?: Weekday[] | undefined; from: string; to: string }> | undefined;
}

export interface OverrideConfig {
  user: string;
  /** ms since the epoch */
  start: number;
  end: number;
}

export interface ScheduleConfig {
  time_zone: string;
  layers: LayerConfig[];
  overrides?: OverrideConfig[] | undefined;
}

interface Window {
  days: Set<Weekday> | undefined;
  from: number;
  to: number;
}

interface Layer {
  name: string;
  users: string[];
  length: number;
  zone: string;
  /** local (UTC-read) time of turn 0's handoff */
  anchor: number;
  windows: Window[] | undefined;
}

export interface Schedule {
  name: string;
  zone: string;
  layers: Layer[];
  overrides: OverrideConfig[];
}

export interface OnCall {
  user: string;
  source: 'override' | 'layer';
  /** the layer's name (source 'layer') */
  layer?: string;
  /** the rotation turn or the override this comes from */
  start: number;
  end: number;
}

export interface Shift {
  user: string;
  start: number;
  end: number;
  source: 'override' | 'layer';
  layer?: string;
}

export function buildSchedule(name: string, cfg: ScheduleConfig): Schedule {
  const layers = cfg.layers.map((l, i): Layer => {
    const handoff = parseTimeOfDay(l.handoff);
    const start = parseLocalDate(l.start);
    if (handoff === undefined || start === undefined || l.users.length === 0 || !(l.length > 0)) {
      throw new GreenlightError('CONFIG_INVALID', `schedule ${name}, layer ${i + 1}: needs users, a positive length, handoff "HH:MM" and start "YYYY-MM-DD"`);
    }
    const layer: Layer = { name: l.name ?? `layer-${i + 1}`, users: [...l.users], length: l.length, zone: l.time_zone ?? cfg.time_zone, anchor: start + handoff, windows: undefined };
    if (l.restrictions && l.restrictions.length > 0) {
      layer.windows = l.restrictions.map((r) => ({ days: r.days ? new Set(r.days) : undefined, from: parseTimeOfDay(r.from) ?? 0, to: parseTimeOfDay(r.to) ?? 0 }));
    }
    return layer;
  });
  return { name, zone: cfg.time_zone, layers, overrides: [...(cfg.overrides ?? [])] };
}

function handoffAt(layer: Layer, k: number): number {
  return fromLocal(layer.anchor + k * layer.length, layer.zone);
}

/** The rotation turn covering `at`, or undefined before the layer starts. */
export function turnAt(layer: Layer, at: number): { k: number; start: number; end: number } | undefined {
  if (at < handoffAt(layer, 0)) return undefined;
  let k = Math.floor((toLocal(at, layer.zone) - layer.anchor) / layer.length);
  // The wall-clock estimate can be off by one turn next to a skipped or repeated hour.
  while (handoffAt(layer, k + 1) <= at) k++;
  while (k > 0 && handoffAt(layer, k) > at) k--;
  return { k, start: handoffAt(layer, k), end: handoffAt(layer, k + 1) };
}

function inWindow(w: Window, local: number): boolean {
  const day = startOfLocalDay(local);
  const tod = local - day;
  const has = (d: number) => !w.days || w.days.has(weekdayOf(d));
  if (w.from < w.to) return has(day) && tod >= w.from && tod < w.to;
  // crosses midnight (or covers the whole day when from == to): the window belongs to the day it starts
  return (has(day) && tod >= w.from) || (has(day - DAY) && tod < w.to);
}

function layerUser(layer: Layer, at: number): OnCall | undefined {
  const turn = turnAt(layer, at);
  if (!turn) return undefined;
  if (layer.windows) {
    const local = toLocal(at, layer.zone);
    if (!layer.windows.some((w) => inWindow(w, local))) return undefined;
  }
  const n = layer.users.length;
  return { user: layer.users[((turn.k % n) + n) % n]!, source: 'layer', layer: layer.name, start: turn.start, end: turn.end };
}

/** Who is on call at `at`: the last override covering it, else the last layer that has someone. */
export function whoIsOnCall(schedule: Schedule, at: number): OnCall | undefined {
  for (let i = schedule.overrides.length - 1; i >= 0; i--) {
    const o = schedule.overrides[i]!;
    if (o.start <= at && at < o.end) return { user: o.user, source: 'override', start: o.start, end: o.end };
  }
  for (let i = schedule.layers.length - 1; i >= 0; i--) {
    const who = layerUser(schedule.layers[i]!, at);
    if (who) return who;
  }
  return undefined;
}

export const MAX_SHIFT_WINDOW = 366 * DAY;

/** Every instant in (from, until) where the answer of whoIsOnCall may change. */
function boundaries(schedule: Schedule, from: number, until: number): number[] {
  const out = new Set<number>();
  for (const layer of schedule.layers) {
    const first = turnAt(layer, from);
    let k = first ? first.k + 1 : 0;
    for (let t = handoffAt(layer, k); t < until; t = handoffAt(layer, ++k)) if (t > from) out.add(t);
    if (layer.windows) {
      const lastDay = startOfLocalDay(toLocal(until, layer.zone)) + DAY;
      for (let day = startOfLocalDay(toLocal(from, layer.zone)) - DAY; day <= lastDay; day += DAY) {
        for (const w of layer.windows) {
          for (const local of [day + w.from, day + w.to + (w.from >= w.to ? DAY : 0)]) {
            const t = fromLocal(local, layer.zone);
            if (t > from && t < until) out.add(t);
          }
        }
      }
    }
  }
  for (const o of schedule.overrides) for (const t of [o.start, o.end]) if (t > from && t < until) out.add(t);
  return [...out].sort((a, b) => a - b);
}

/** The effective shifts between from and until, merged where the same person stays on call. */
export function upcomingShifts(schedule: Schedule, from: number, until: number): Shift[] {
  if (until - from > MAX_SHIFT_WINDOW) {
    throw new GreenlightError('USAGE', 'shifts can be listed for at most 366 days at a time', { hint: 'ask for a shorter period' });
  }
  const cuts = [from, ...boundaries(schedule, from, until), until];
  const out: Shift[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const start = cuts[i]!;
    const end = cuts[i + 1]!;
    if (end <= start) continue;
    const who = whoIsOnCall(schedule, start);
    if (!who) continue;
    const last = out[out.length - 1];
    if (last && last.end === start && last.user === who.user && last.source === who.source && last.layer === who.layer) {
      last.end = end;
      continue;
    }
    const s: Shift = { user: who.user, start, end, source: who.source };
    if (who.layer !== undefined) s.layer = who.layer;
    out.push(s);
  }
  return out;
}
