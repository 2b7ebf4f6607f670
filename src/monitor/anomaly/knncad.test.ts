import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KnnCadModel } from './knncad.ts';

const wave = (i: number) => 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + ((i * 7919) % 13) / 13;

test('a shape never seen before is more surprising than anything in the calibration set', () => {
  for (const calibEvery of [1, 3]) {
    const m = new KnnCadModel({ calibEvery });
    let before = 0;
    let after = 0;
    for (let i = 0; i < 1400; i++) {
      const z = m.surprise(i, i >= 1300 ? 50 + 15 * Math.sin(i) : wave(i));
      assert.ok(Number.isFinite(z) && z >= 0);
      if (i >= 700 && i < 1300) before = Math.max(before, z);
      if (i >= 1300) after = Math.max(after, z);
    }
    assert.ok(after > before, `calibEvery ${calibEvery}: before ${before}, after ${after}`);
  }
});

test('calibEvery spans the calibration set over more points in the same memory', () => {
  const a = new KnnCadModel({ calib: 200 });
  const b = new KnnCadModel({ calib: 200, calibEvery: 2 });
  assert.equal(a.bytes, b.bytes);
  let differs = false;
  for (let i = 0; i < 900; i++) if (a.surprise(i, wave(i)) !== b.surprise(i, wave(i))) differs = true;
  assert.ok(differs);
});

test('excessFloor: a series coming back from a near-flat stretch is not an unbounded surprise', () => {
  const noise = (i: number) => 50 + ((i * 7919) % 13);
  const back = (excessFloor: number) => {
    const m = new KnnCadModel({ stride: 4, excessFloor });
    let max = 0;
    for (let i = 0; i < 1450; i++) {
      const z = m.surprise(i, i >= 1000 && i < 1400 ? 1e-3 * ((i * 31) % 7) : noise(i));
      if (i >= 1400) max = Math.max(max, z);
    }
    return max;
  };
  const without = back(0);
  const floored = back(1);
  assert.ok(without > 10, `without the floor ${without}`);
  // still surprising (the calibration set has seen nothing like it), but on the scale of a p-value
  assert.ok(floored > 3 && floored < 6, `with the floor ${floored}`);
});
