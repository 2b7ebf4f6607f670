// Research harness: raw member surprises of every file, computed once and cached in /tmp, so that
// post-processing (calibration, combination, likelihood, damping) can be swept in seconds.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { NabFile } from '../corpus.ts';
import { KnnCadModel, type KnnCadOptions } from '../../../src/monitor/anomaly/knncad.ts';
import { RobustBaseline } from '../../../src/monitor/anomaly/baseline.ts';
import { TimeOfDayProfile } from '../../../src/monitor/anomaly/seasonal.ts';

export interface ZOpts { slowRate?: number; fastRate?: number; dailyBuckets?: number; seasonalRate?: number; seasonMin?: number; volRate?: number }

/**
 * The shipped detector's four robust z components (level, difference, fast mean, time of day), from
 * the same parts (baseline.ts, seasonal.ts), uncalibrated; plus a research-only fifth: |log| of a fast
 * mean absolute step over the typical step (a change of volatility).
 */
export function zMembers(f: NabFile, o: ZOpts = {}): Float32Array[] {
  const N = f.values.length;
  const out = [0, 1, 2, 3, 4].map(() => new Float32Array(N));
  const base = new RobustBaseline(o.slowRate ?? 0.001, o.fastRate ?? 0.3);
  const season = new TimeOfDayProfile(o.dailyBuckets ?? 48, o.seasonalRate ?? 0.1, o.seasonMin ?? 3);
  const volRate = o.volRate ?? 0.1;
  let vol = 0;
  for (let i = 0; i < N; i++) {
    const x = Number.isFinite(f.values[i]!) ? f.values[i]! : base.prev;
    const r = base.read(x);
    if (r) {
      out[0]![i] = r.zLevel;
      out[1]![i] = r.zDiff;
      out[2]![i] = r.zFast;
      out[3]![i] = season.observe(f.timestamps[i]!, x, r.dev, base.dev, r.floor)?.z ?? 0;
      vol += volRate * (Math.abs(x - base.prev) - vol);
      out[4]![i] = base.count > 50 ? Math.abs(Math.log((vol + r.floor) / r.diffDev)) : 0;
    }
    base.learn(x);
  }
  return out;
}

export function knnMember(f: NabFile, o: KnnCadOptions): Float32Array {
  const m = new KnnCadModel(o);
  const out = new Float32Array(f.values.length);
  for (let i = 0; i < out.length; i++) out[i] = m.surprise(f.timestamps[i]!, f.values[i]!);
  return out;
}

const dir = '/tmp/gl-nab-cache';
/**
 * The shipped members' source, hashed into every key: a cache entry computed by an older version of
 * src/monitor/anomaly/ is never read back as if it were today's.
 */
const codeHash = (() => {
  const src = new URL('../../../src/monitor/anomaly/', import.meta.url);
  const h = createHash('sha1');
  for (const f of readdirSync(src).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts')).sort()) h.update(f).update(readFileSync(new URL(f, src)));
  return h.digest('hex').slice(0, 12);
})();
/** cached per (kind, options, file, members' code) */
export function cached(kind: string, opts: unknown, f: NabFile, compute: () => Float32Array[]): Float32Array[] {
  mkdirSync(dir, { recursive: true });
  const key = createHash('sha1').update(JSON.stringify([kind, opts, f.name, codeHash])).digest('hex').slice(0, 16);
  const p = `${dir}/${key}.bin`;
  const n = f.values.length;
  if (existsSync(p)) {
    const buf = readFileSync(p);
    const k = buf.length >= 4 ? buf.readUInt32LE(0) : 0;
    // a whole entry only (see the write below); anything else is computed again
    if (k > 0 && buf.length === 4 + k * n * 4) {
      return Array.from({ length: k }, (_, j) => new Float32Array(buf.buffer.slice(buf.byteOffset + 4 + j * n * 4, buf.byteOffset + 4 + (j + 1) * n * 4)));
    }
  }
  const arrs = compute();
  const buf = Buffer.alloc(4 + arrs.length * f.values.length * 4);
  buf.writeUInt32LE(arrs.length, 0);
  arrs.forEach((a, j) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(buf, 4 + j * f.values.length * 4));
  // Several sweeps share the cache: write under a private name, then rename (atomic on one
  // filesystem), so a reader never sees a half-written entry (ninth round: two wrong figures).
  const tmp = `${p}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, buf);
  renameSync(tmp, p);
  return arrs;
}
