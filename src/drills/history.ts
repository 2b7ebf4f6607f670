// `greenlight drill history`: every scored drill, and trends per person and for the team: how
// many drills, how many passed, and each measure's median now against the earlier drills'.
import type { StoredEvent } from '../events/log.ts';
import { MEASURES, type MeasureName, type Scorecard } from './scorecard.ts';

export interface Trend {
  drills: number;
  passed: number;
  /** median of each measure over all drills (null when it never happened) */
  median: Record<MeasureName, number | null>;
  /** the latest drill's figure against the median of the ones before: negative = faster */
  change: Record<MeasureName, number | null>;
}

export interface DrillHistory {
  drills: Scorecard[];
  missed: { at: number; scenario: string; participants: string[]; reason: string }[];
  team: Trend;
  people: Record<string, Trend>;
}

export function historyOf(events: readonly StoredEvent[]): DrillHistory {
  const drills = events.filter((e) => e.type === 'drill.scored').map((e) => e.data.scorecard as Scorecard).sort((a, b) => a.startedAt - b.startedAt);
  const missed = events
    .filter((e) => e.type === 'drill.missed')
    .map((e) => ({ at: e.time, scenario: String(e.data.scenario ?? ''), participants: (e.data.participants as string[] | undefined) ?? [], reason: String(e.data.reason ?? '') }));
  const people = new Map<string, Scorecard[]>();
  for (const d of drills) {
    const names = new Set([...d.participants, ...MEASURES.map((n) => d.measures[n].by).filter((b): b is string => !!b && b.startsWith('user:')).map((b) => b.slice(5))]);
    for (const p of names) people.set(p, [...(people.get(p) ?? []), d]);
  }
  return { drills, missed, team: trend(drills), people: Object.fromEntries([...people].map(([p, ds]) => [p, trend(ds)])) };
}

function trend(ds: Scorecard[]): Trend {
  const median = {} as Record<MeasureName, number | null>;
  const change = {} as Record<MeasureName, number | null>;
  for (const n of MEASURES) {
    const all = ds.map((d) => d.measures[n].ms).filter((x): x is number => x !== null);
    median[n] = med(all);
    const last = ds.at(-1)?.measures[n].ms ?? null;
    const before = med(ds.slice(0, -1).map((d) => d.measures[n].ms).filter((x): x is number => x !== null));
    change[n] = last !== null && before !== null ? last - before : null;
  }
  return { drills: ds.length, passed: ds.filter((d) => d.passed).length, median, change };
}

function med(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
