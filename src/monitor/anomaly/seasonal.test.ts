import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimeOfDayProfile } from './seasonal.ts';

const H = 3_600_000;

test('a slot is scored only once it has enough observations, then against what it usually sees', () => {
  const p = new TimeOfDayProfile(24, 0.1, 3);
  // every day: 10 at 03:00, 100 at 15:00
  const value = (t: number) => (new Date(t).getUTCHours() === 15 ? 100 : 10);
  let last;
  for (let d = 0; d < 6; d++) {
    for (let h = 0; h < 24; h++) {
      const t = d * 24 * H + h * H;
      last = p.observe(t, value(t), 5, 5, 1e-9);
      if (d < 3) assert.equal(last?.mature, false, `day ${d} hour ${h}`);
    }
  }
  const usual = p.observe(6 * 24 * H + 15 * H, 100, 5, 5, 1e-9)!;
  assert.ok(usual.mature && usual.z < 1 && Math.abs(usual.expected - 100) < 1, JSON.stringify(usual));
  // the same value at the wrong time of day is surprising
  const odd = p.observe(6 * 24 * H + 3 * H, 100, 5, 5, 1e-9)!;
  assert.ok(odd.z > 10 && Math.abs(odd.expected - 10) < 1, JSON.stringify(odd));
});

test('no profile without buckets or without a usable timestamp; memory is the three arrays', () => {
  assert.equal(new TimeOfDayProfile(0, 0.1).observe(0, 1, 1, 1, 0), undefined);
  assert.equal(new TimeOfDayProfile(48, 0.1).observe(Number.NaN, 1, 1, 1, 0), undefined);
  assert.equal(new TimeOfDayProfile(48, 0.1).bytes, 48 * (8 + 8 + 4));
});
