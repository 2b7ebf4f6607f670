import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANOMALY_THRESHOLD, createDetector } from './detector.ts';
import { erfc, normalTail } from './gaussian.ts';

const series = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
const wave = (i: number) => 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + ((i * 7919) % 13) / 13;

test('scores stay in [0, 1] and a level jump raises one early warning, not a stream of them', () => {
  const d = createDetector();
  const alarms: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const s = d.update(i * 300_000, wave(i) + (i >= 2000 ? 60 : 0));
    assert.ok(s >= 0 && s <= 1);
    if (d.alarm) alarms.push(i);
  }
  assert.ok(alarms.length >= 1 && alarms[0]! >= 2000 && alarms[0]! <= 2002, `alarms ${alarms.slice(0, 5)}`);
  assert.ok(alarms.filter((i) => i < 2200).length === 1);
});

test('causal: a score never depends on later points', () => {
  const xs = series(1500, wave);
  const full = createDetector();
  const a = xs.map((x, i) => full.update(i * 60_000, x));
  const prefix = createDetector();
  const b = xs.slice(0, 900).map((x, i) => prefix.update(i * 60_000, x));
  assert.deepEqual(b, a.slice(0, 900));
});

test('a steady seasonal series and a flat line never alarm; non-finite values do not poison it', () => {
  const d = createDetector();
  for (let i = 0; i < 4000; i++) {
    d.update(i * 300_000, wave(i));
    assert.equal(d.alarm, false, `alarm at ${i}`);
  }
  const flat = createDetector();
  for (let i = 0; i < 2000; i++) {
    const s = flat.update(i * 60_000, i === 1000 ? Number.NaN : 5);
    assert.ok(Number.isFinite(s));
    assert.equal(flat.alarm, false);
  }
  assert.ok(ANOMALY_THRESHOLD > 0 && ANOMALY_THRESHOLD < 1);
});

test('Gaussian tail keeps relative precision deep in the tail', () => {
  assert.ok(Math.abs(erfc(1) - 0.15729920705028513) < 1e-15);
  assert.ok(Math.abs(normalTail(8) / 6.22096057427178e-16 - 1) < 1e-10);
});

test('a spike that recurs the same way alarms once: the context gate needs a new level or transition', () => {
  // the same +30 spike every second day, at the same phase of the daily wave
  const spiky = (i: number) => wave(i) + (i >= 1000 && (i - 1000) % 576 === 0 ? 30 : 0);
  const alarmsOf = (d: ReturnType<typeof createDetector>) => {
    const at: number[] = [];
    for (let i = 0; i < 6000; i++) {
      d.update(i * 300_000, spiky(i));
      if (d.alarm) at.push(i);
    }
    return at;
  };
  assert.deepEqual(alarmsOf(createDetector()), [1000]);
  // without the gate every recurrence alarms: the value deviation alone cannot tell routine from new
  assert.ok(alarmsOf(createDetector({ contextGate: 0, shapeGate: 0 })).length >= 5);
});

test('an alarm names the contextual novelty that let it through', () => {
  const d = createDetector();
  for (let i = 0; i < 2001; i++) d.update(i * 300_000, wave(i) + (i >= 2000 ? 60 : 0));
  assert.equal(d.alarm, true);
  assert.deepEqual(d.explain().novelty, { kind: 'new level', pointsAgo: 0 });
  // without the gate there is nothing to name
  const g = createDetector({ contextGate: 0, shapeGate: 0 });
  for (let i = 0; i < 2001; i++) g.update(i * 300_000, wave(i) + (i >= 2000 ? 60 : 0));
  assert.equal(g.explain().novelty, undefined);
});

test('a daily pattern that stops at its trough alarms while it is stopped only through the shape gate', () => {
  // the wave holds its minimum for a day and a half: a level and transitions it has every day, a shape it never had
  const stopped = (i: number) => (i >= 1944 && i < 2400 ? 40 + ((i * 7919) % 13) / 13 : wave(i));
  const run = (d: ReturnType<typeof createDetector>) => {
    const at: Array<[number, string | undefined]> = [];
    for (let i = 0; i < 2400; i++) {
      d.update(i * 300_000, stopped(i));
      if (d.alarm) at.push([i, d.explain().novelty?.kind]);
    }
    return at;
  };
  const shaped = run(createDetector());
  assert.equal(shaped.length, 1, JSON.stringify(shaped));
  assert.ok(shaped[0]![0] > 1944 && shaped[0]![0] < 2100, JSON.stringify(shaped));
  assert.equal(shaped[0]![1], 'new shape');
  // the levels and transitions alone do not open the gate while it is stopped
  assert.deepEqual(run(createDetector({ shapeGate: 0 })), []);
});

test('a value held exactly for longer than ever alarms once, with no gate, and says what was held (record.ts)', () => {
  // a noisy daily wave, then the source freezes at its last value (a level the series has had)
  const noisy = (i: number) => wave(i) + ((i * 104729) % 97) / 97;
  const run = (d: ReturnType<typeof createDetector>) => {
    const alarms: Array<[number, string]> = [];
    let frozen = 0;
    for (let i = 0; i < 3000; i++) {
      if (i === 2000) frozen = noisy(1999);
      d.update(i * 300_000, i < 2000 ? noisy(i) : frozen);
      if (d.alarm) alarms.push([i, d.explain().basis]);
    }
    return alarms;
  };
  const d = createDetector();
  const alarms = run(d);
  assert.deepEqual(alarms.filter(([i]) => i >= 2000), [[2028, 'held value']]);
  assert.deepEqual(run(createDetector({ recordRun: 'off' })).filter(([i]) => i >= 2000), [], 'no value score sees a constant');
});

test('a level that creeps up in steps the size of its noise is seen against the slower second baseline', () => {
  const noise = (i: number) => (((i * 7919) % 101) / 101 - 0.5) * 2;
  const stairs = (i: number) => 50 + noise(i) + (i > 2000 ? 1.5 * Math.floor((i - 2000) / 400) : 0);
  const alarms = (o: Parameters<typeof createDetector>[0]) => {
    const d = createDetector(o);
    const at: number[] = [];
    for (let i = 0; i < 4000; i++) {
      d.update(i * 300_000, stairs(i));
      if (d.alarm) at.push(i);
    }
    return at;
  };
  // each step is followed by the first baseline (rate 0.001) before it stands out; the second (0.0002) still
  // remembers the level before the climb
  assert.deepEqual(alarms({ longBaselineRate: 0 }), []);
  const seen = alarms({});
  assert.ok(seen.length >= 1 && seen[0]! > 2000 && seen[0]! < 2900, `alarms ${seen.join(',')}`);
});
