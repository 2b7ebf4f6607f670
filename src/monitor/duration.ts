// Durations in monitor config use Prometheus syntax ("90s", "1h30m", "30d") so rules copied from
// Prometheus read the same; code works in milliseconds.
import { GreenlightError } from '../errors/errors.ts';

const units: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Anchored pattern for one Prometheus duration; exported so the zod schema and JSON Schema share it. */
export const durationPattern = /^(?:\d+(?:ms|s|m|h|d|w|y))+$/;

export function parseDuration(text: string): number {
  if (!durationPattern.test(text)) {
    throw new GreenlightError('CONFIG_INVALID', `invalid duration "${text}"`, {
      hint: 'write a Prometheus duration such as 30s, 5m, 1h30m, 3d or 500ms',
    });
  }
  let total = 0;
  for (const m of text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * units[m[2]!]!;
  return total;
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [u, size] of [['d', units.d!], ['h', units.h!], ['m', units.m!], ['s', units.s!], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * size;
    }
  }
  return out;
}
