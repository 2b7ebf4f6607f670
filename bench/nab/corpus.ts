// Loads the NAB subset (data files and labelled windows) from disk; NAB_DIR overrides the location.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const defaultNabDir = process.env['NAB_DIR'] ?? '/work/shared/data/nab';

export interface NabFile {
  /** key as in combined_windows.json, e.g. realKnownCause/nyc_taxi.csv */
  name: string;
  timestamps: Float64Array;
  values: Float64Array;
  /** windows as [startMs, endMs], inclusive */
  windows: Array<[number, number]>;
}

/** NAB timestamps are UTC wall-clock strings `YYYY-MM-DD HH:MM:SS[.ffffff]`. */
export function parseNabTimestamp(s: string): number {
  const t = s.trim();
  const iso = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(t)
    ? t.replace(' ', 'T').replace(/(\.\d{3})\d+$/, '$1') + 'Z'
    : t;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) {
    const n = Number(t);
    if (t !== '' && Number.isFinite(n)) return n;
  }
  return ms;
}

export function loadCsv(path: string): { timestamps: Float64Array; values: Float64Array } {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const ts: number[] = [];
  const vs: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const comma = line.indexOf(',');
    ts.push(parseNabTimestamp(line.slice(0, comma)));
    vs.push(Number(line.slice(comma + 1)));
  }
  return { timestamps: Float64Array.from(ts), values: Float64Array.from(vs) };
}

export function loadCorpus(dir = defaultNabDir): NabFile[] {
  const windows = JSON.parse(readFileSync(join(dir, 'combined_windows.json'), 'utf8')) as Record<string, Array<[string, string]>>;
  return Object.keys(windows)
    .sort()
    .map((name) => {
      const { timestamps, values } = loadCsv(join(dir, 'data', name));
      const w = (windows[name] ?? []).map(([a, b]) => [parseNabTimestamp(a), parseNabTimestamp(b)] as [number, number]);
      return { name, timestamps, values, windows: w };
    });
}
