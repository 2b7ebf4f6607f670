// Loads the NAB subset (data files and labelled windows) from disk; NAB_DIR overrides the location.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The subset lives in shared/ beside the clone (CI puts a copy there). A worktree one level deeper
// (…/wt/<branch>) finds it one level further up. NAB_DIR overrides both.
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const candidates = [join(repo, '..', 'shared', 'data', 'nab'), join(repo, '..', '..', 'shared', 'data', 'nab')];
export const defaultNabDir = process.env['NAB_DIR'] ?? candidates.find((d) => existsSync(join(d, 'combined_windows.json'))) ?? (candidates[0] as string);

/** Why the NAB tests and benchmarks cannot run here, or undefined when the subset is present. */
export function nabMissing(dir = defaultNabDir): string | undefined {
  return existsSync(join(dir, 'combined_windows.json'))
    ? undefined
    : `NAB subset not found at ${dir} (expected ../shared/data/nab beside the repository, or set NAB_DIR)`;
}

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

/** The published detectors whose outputs reference-results/ holds, with NAB's own figures on the subset. */
export const referenceDetectors: Record<string, { label: string; figures: [number, number, number] }> = {
  numenta: { label: 'Numenta HTM', figures: [68.58, 62.21, 72.77] },
  windowedGaussian: { label: 'windowed Gaussian', figures: [29.06, 14.79, 35.8] },
  random: { label: 'random', figures: [14.96, 3.68, 23.98] },
};

/** A published detector's scores for one file (reference-results/<det>/<category>/<det>_<file>). */
export function loadReferenceScores(detector: string, f: NabFile, dir = defaultNabDir): Float64Array {
  const [category, file] = f.name.split('/') as [string, string];
  const text = readFileSync(join(dir, 'reference-results', detector, category, `${detector}_${file}`), 'utf8');
  const scores = Float64Array.from(text.trim().split(/\r?\n/).slice(1), Number);
  if (scores.length !== f.values.length) {
    throw new Error(`${detector} reference scores for ${f.name}: ${scores.length} rows, the data has ${f.values.length}; the reference-results/ copy does not match data/`);
  }
  return scores;
}
