import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEnsemble, type MemberSpec } from './ensemble.ts';
import { calibratedDetector } from './calibrate.ts';
import { createRelEntropyModel } from './relentropy.ts';
import { createKnnCadModel } from '../../../src/monitor/anomaly/knncad.ts';
import { createBocpdModel } from './bocpd.ts';
import { createDetector } from '../../../src/monitor/anomaly/detector.ts';

const wave = (i: number) => 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + ((i * 7919) % 13) / 13;
const members: MemberSpec[][] = [[{ kind: 'relentropy' }], [{ kind: 'knncad' }], [{ kind: 'bocpd' }], [{ kind: 'level' }, { kind: 'relentropy' }, { kind: 'knncad' }, { kind: 'bocpd' }]];

test('every candidate is causal and scores in [0, 1], also through NaN and a flat stretch', () => {
  const xs = Array.from({ length: 1500 }, (_, i) => (i === 700 ? Number.NaN : i > 1000 && i < 1100 ? 5 : wave(i)));
  for (const m of members) {
    const full = createEnsemble({ members: m });
    const a = xs.map((x, i) => full.update(i * 60_000, x));
    const prefix = createEnsemble({ members: m });
    const b = xs.slice(0, 900).map((x, i) => prefix.update(i * 60_000, x));
    assert.deepEqual(b, a.slice(0, 900), JSON.stringify(m));
    for (const s of a) assert.ok(s >= 0 && s <= 1, `${JSON.stringify(m)}: ${s}`);
  }
});

test('each model finds a level jump: its surprise right after the jump exceeds everything before it', () => {
  const models = [createRelEntropyModel(), createKnnCadModel(), createBocpdModel()];
  for (const m of models) {
    let before = 0;
    let after = 0;
    for (let i = 0; i < 2060; i++) {
      const z = m.surprise(i * 300_000, wave(i) + (i >= 2000 ? 60 : 0));
      if (i >= 400 && i < 2000) before = Math.max(before, z);
      if (i >= 2000) after = Math.max(after, z);
    }
    assert.ok(after > before, `${m.constructor.name}: before ${before}, after ${after}`);
  }
});

test('the default detector without its context and shape gates, second baseline and record run (with its KNN member) equals the level + KNN ensemble', () => {
  const d = createDetector({ contextGate: 0, shapeGate: 0, longBaselineRate: 0, recordRun: 'off' });
  const e = createEnsemble({ members: [{ kind: 'level' }, { kind: 'knncad', opts: { stride: 4, excessFloor: 1 } }] });
  const c = calibratedDetector(createKnnCadModel());
  for (let i = 0; i < 2500; i++) {
    const x = wave(i) + (i === 1800 ? 40 : 0);
    assert.equal(d.update(i * 60_000, x), e.update(i * 60_000, x));
    c.update(i * 60_000, x);
  }
});

test('the research detector composes the shipped parts: with its defaults it equals the shipped detector without its context and shape gates, second baseline and record run', async () => {
  const exp = await import('./experimental-detector.ts');
  const a = createDetector({ contextGate: 0, shapeGate: 0, longBaselineRate: 0, recordRun: 'off' });
  const b = exp.createDetector();
  // and an experimental option is not ignored
  const c = exp.createDetector({ alarmRate: 0.1 });
  let differs = false;
  for (let i = 0; i < 3000; i++) {
    const x = wave(i) + (i >= 2000 ? 60 : 0) + (i === 1200 ? 30 : 0);
    const s = a.update(i * 300_000, x);
    assert.equal(b.update(i * 300_000, x), s, `point ${i}`);
    if (c.update(i * 300_000, x) !== s) differs = true;
  }
  assert.ok(differs, 'alarmRate changed nothing');
});
