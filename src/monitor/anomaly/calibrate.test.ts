import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuantileCalibrator } from './calibrate.ts';

test('after calibration about 2% of a series exceeds 3, whatever the scale of its surprise', () => {
  // (the bar never drops below 3: a series whose surprises stay small is not made sensitive)
  for (const scale of [1.5, 4, 40]) {
    const c = new QuantileCalibrator(0.98);
    let over = 0;
    let n = 0;
    for (let i = 0; i < 20000; i++) {
      // |N(0,1)|-like surprise from a deterministic sequence
      const u = ((i * 0.6180339887) % 1) * 0.999 + 0.0005;
      const z = scale * Math.abs(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * ((i * 0.7548776662) % 1)));
      const zc = c.next(z);
      if (i >= 5000) {
        n++;
        if (zc > 3) over++;
      }
    }
    assert.ok(over / n > 0.01 && over / n < 0.03, `scale ${scale}: ${(100 * over) / n}% over 3`);
  }
});

test('level 0 turns calibration off', () => {
  assert.equal(new QuantileCalibrator(0).next(7.5), 7.5);
});

test('a series whose surprise stays small is not blown up to the threshold', () => {
  const c = new QuantileCalibrator(0.98);
  let max = 0;
  for (let i = 0; i < 5000; i++) max = Math.max(max, c.next(0.5 * ((i * 7919) % 13) / 13));
  assert.ok(max < 1, `max ${max}`);
});
