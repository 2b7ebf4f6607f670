import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordRun, defaultRecordRunOptions } from './record.ts';

// a series that never repeats a value exactly
const noisy = (i: number) => 50 + 10 * Math.sin(i / 7) + ((i * 7919) % 101) / 101;
const firedAt = (r: RecordRun, from: number, to: number, f: (i: number) => number) => {
  const at: number[] = [];
  for (let i = from; i < to; i++) if (r.step(i * 60_000, f(i))) at.push(i);
  return at;
};

test('a series that never repeats and then freezes: one record at the run of minRun points, with what was held', () => {
  const r = new RecordRun();
  assert.deepEqual(firedAt(r, 0, 2000, noisy), []);
  const frozen = noisy(1999);
  const at = firedAt(r, 2000, 2500, () => frozen);
  // the run began at 1999 (the last moving value is its first point), so its 30th point is 2028
  assert.deepEqual(at, [1999 + defaultRecordRunOptions.minRun - 1]);
  // and r.held said so at that point; it is cleared at the next
  const again = new RecordRun();
  firedAt(again, 0, 2000, noisy);
  for (let i = 2000; i < 2028; i++) again.step(i * 60_000, frozen);
  assert.equal(again.step(2028 * 60_000, frozen), true);
  assert.deepEqual(again.held, { value: frozen, samples: 30, record: 1, atFloor: false, since: 1999 * 60_000, at: 2028 * 60_000 });
  again.step(2029 * 60_000, frozen);
  assert.equal(again.held, undefined);
});

// an error ratio: 0 most of the time, a short burst of errors every 100 points (runs of 0 about 95 points)
const errors = (i: number) => (i % 100 < 5 ? 0.01 + (i % 100) / 1000 : 0);

test('a series resting at its floor: a longer rest breaks the record only when the floor counts', () => {
  const quiet = (i: number) => (i < 3000 ? errors(i) : 0);
  // 0 for 1,000 points after 3000: ten times the longest earlier rest
  assert.deepEqual(firedAt(new RecordRun({ floor: false }), 0, 4000, quiet), [], 'an error ratio that stays at 0 is good news');
  const any = firedAt(new RecordRun(), 0, 4000, quiet);
  assert.equal(any.length, 1);
  assert.ok(any[0]! > 3000 && any[0]! < 3120, `fired at ${any.join(',')}`);
  // above the floor it still counts: the same series stuck at 2% errors
  const stuck = (i: number) => (i < 3000 ? errors(i) : 0.02);
  const at = firedAt(new RecordRun({ floor: false }), 0, 4000, stuck);
  assert.deepEqual(at, [3000 + defaultRecordRunOptions.minRun - 1]);
});

test('no record without history: a series constant from its first point, or younger than learn, never fires', () => {
  assert.deepEqual(firedAt(new RecordRun(), 0, 10_000, () => 5), []);
  // runs long enough, but inside the first `learn` points
  const early = firedAt(new RecordRun(), 0, defaultRecordRunOptions.learn, (i) => (i < 100 ? noisy(i) : 7));
  assert.deepEqual(early, []);
  // fewer than minRuns completed runs of the kind: no record to break
  const few = firedAt(new RecordRun(), 0, 2000, (i) => (i < 10 ? i : 3));
  assert.deepEqual(few, []);
});

test('a value that is not a number neither extends nor ends a run; memory is a dozen numbers', () => {
  const r = new RecordRun();
  firedAt(r, 0, 2000, noisy);
  const at = firedAt(r, 2000, 2100, (i) => (i % 5 === 0 ? Number.NaN : 42));
  // 42 from 2001 (2000 is NaN); the 30th 42 is at 2037 (eight NaNs between)
  assert.deepEqual(at, [2037]);
  const before = r.bytes;
  firedAt(r, 2100, 200_000, noisy);
  assert.equal(r.bytes, before);
  assert.equal(before, 96);
});
