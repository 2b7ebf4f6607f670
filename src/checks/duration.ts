// Durations in config are strings ("500ms", "2s", "1m30s") so a file reads like a sentence and the
// JSON Schema export stays a plain string pattern; they are turned into milliseconds when a check
// is created, not in the schema, so the schema has no transforms.
import { z } from 'zod';

const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof unitMs;

const whole = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Milliseconds in a duration like "500ms", "2s", "1.5m" or "1h30m"; throws on anything else. */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (!whole.test(s)) {
    throw new RangeError(`"${text}" is not a duration: write a number and a unit (ms, s, m, h, d), e.g. "500ms", "2s", "1m30s"`);
  }
  let total = 0;
  for (const m of s.matchAll(part)) total += Number(m[1]) * unitMs[m[2] as Unit];
  return Math.round(total);
}

/** "1500ms" -> "1.5s": for messages, so a user sees the same units they wrote. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${trim(ms / 1000)}s`;
  if (ms < 3_600_000) return `${trim(ms / 60_000)}m`;
  return `${trim(ms / 3_600_000)}h`;
}

function trim(n: number): string {
  return String(Math.round(n * 100) / 100);
}

export const durationSchema = z
  .string()
  .regex(whole, { message: 'expected a duration such as "500ms", "2s", "1m" or "1m30s"' })
  .describe('a duration: a number and a unit (ms, s, m, h, d), e.g. "500ms", "2s", "1m30s"');
