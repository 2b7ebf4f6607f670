// Wall-clock arithmetic in an IANA time zone without Temporal. A "local" time here is the wall
// clock read as if it were UTC (ms), so adding a day to it keeps the hour: that is how handoffs at
// 09:00 stay at 09:00 local across a daylight-saving change. Converting back picks, like Temporal's
// "compatible" disambiguation, the earlier instant for a repeated hour and moves forward across a
// skipped one (02:30 on the spring-forward night becomes 03:30).

const DAY = 86_400_000;
const formats = new Map<string, Intl.DateTimeFormat>();

function format(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(zone, f);
  }
  return f;
}

export function isTimeZone(zone: string): boolean {
  try {
    format(zone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time in `zone` at the instant `utc`, as UTC-read ms. */
export function toLocal(utc: number, zone: string): number {
  const ms = ((utc % 1000) + 1000) % 1000;
  const parts: Record<string, number> = {};
  for (const p of format(zone).formatToParts(new Date(utc - ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) + ms;
}

/** The zone's offset from UTC at `utc`, in ms (Paris in summer: +7,200,000). */
export function offsetAt(utc: number, zone: string): number {
  return toLocal(utc, zone) - utc;
}

/** The instant at which the wall clock in `zone` reads `local`. */
export function fromLocal(local: number, zone: string): number {
  const before = offsetAt(local - DAY, zone);
  const after = offsetAt(local + DAY, zone);
  const candidates = [local - before, local - after].filter((c) => toLocal(c, zone) === local);
  if (candidates.length > 0) return Math.min(...candidates);
  // A skipped wall time: read it with the offset in force before the gap, which lands after it.
  return local - before;
}

/** "09:00" or "09:00:30" -> ms after midnight; undefined when malformed. */
export function parseTimeOfDay(text: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/.exec(text);
  if (!m) return undefined;
  return (Number(m[1]) * 60 + Number(m[2])) * 60_000 + Number(m[3] ?? 0) * 1000;
}

/** "2026-03-02" -> local midnight (UTC-read ms); undefined when malformed. */
export function parseLocalDate(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const d = new Date(t);
  return d.getUTCDate() === Number(m[3]) && d.getUTCMonth() === Number(m[2]) - 1 ? t : undefined;
}

export function startOfLocalDay(local: number): number {
  return Math.floor(local / DAY) * DAY;
}

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export function weekdayOf(local: number): Weekday {
  return WEEKDAYS[new Date(local).getUTCDay()]!;
}
