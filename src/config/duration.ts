import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/** Parses "500ms", "2s", "1m30s", "3d" into milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '' ) return undefined;
  if (s === '0') return 0;
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = PART.exec(s); m; m = PART.exec(s)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    consumed = PART.lastIndex;
  }
  return consumed === s.length ? total : undefined;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000) ? `${Math.round((ms % 60_000) / 1000)}s` : ''}`;
  return `${Math.floor(ms / 3_600_000)}h${Math.round((ms % 3_600_000) / 60_000) ? `${Math.round((ms % 3_600_000) / 60_000)}m` : ''}`;
}

/** A zod field accepting "2s"-style strings, producing milliseconds. */
export const duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, { message: 'expected a duration like "500ms", "2s", "1m" or "1h30m"' })
  .transform((s) => parseDuration(s)!);

/** A duration as in the config ("2s"), or already in ms: schemas that are parsed again after parsing (analysis parameters) need both. */
export const durationOrMs = z.union([z.number().nonnegative(), duration]);
