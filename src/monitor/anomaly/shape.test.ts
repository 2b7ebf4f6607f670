import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeNovelty, defaultShapeOptions } from './shape.ts';

// a daily wave at 5-minute sampling (288 points a day) with a little deterministic noise
const wave = (i: number) => 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + ((i * 7919) % 13) / 13;
const newAt = (s: ShapeNovelty, from: number, to: number, f: (i: number) => number) => {
  const at: number[] = [];
  for (let i = from; i < to; i++) if (s.isNew(f(i))) at.push(i);
  return at;
};

test('a repeating pattern runs out of new words; the daily pattern that stops on a level it had is a new shape', () => {
  const s = new ShapeNovelty();
  assert.deepEqual(newAt(s, 0, defaultShapeOptions.learn, wave), [], 'learning points are never new');
  newAt(s, 300, 1200, wave); // the phases the learning points did not cover
  assert.deepEqual(newAt(s, 1200, 3000, wave), [], 'every later day repeats its words');
  // the wave stops at its mean: a level the series crosses every day, a flat shape it never had
  const stopped = newAt(s, 3000, 3400, (i) => 50 + ((i * 7919) % 13) / 13 / 50);
  assert.ok(stopped.length >= 1 && stopped[0]! < 3000 + 2 * defaultShapeOptions.window, `new at ${stopped.join(',')}`);
});

test('shape words are scale- and level-free: the same wave ten times larger and higher is not new', () => {
  const s = new ShapeNovelty();
  newAt(s, 0, 3000, (i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 288));
  const big = (i: number) => 500 + 100 * Math.sin((2 * Math.PI * i) / 288);
  // the windows that straddle the jump are a new shape; once the window holds only the larger wave, nothing is
  assert.ok(newAt(s, 3000, 3000 + defaultShapeOptions.window, big).length >= 1);
  assert.deepEqual(newAt(s, 3000 + defaultShapeOptions.window, 4000, big), []);
  // but a faster oscillation between the same values is a new shape
  assert.ok(newAt(s, 4000, 4300, (i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 24)).length >= 1);
});

test('memory is bounded: the same bytes after a million points of noise', () => {
  const s = new ShapeNovelty();
  const before = s.bytes;
  let r = 1;
  for (let i = 0; i < 1_000_000; i++) {
    r = (Math.imul(r, 48271) >>> 0) % 2147483647;
    s.isNew(r / 2147483647);
  }
  assert.equal(s.bytes, before);
  assert.equal(before, 8 * 64 + 4 ** 4);
});

test('options that cannot form words are refused with what is wrong', () => {
  assert.throws(() => new ShapeNovelty({ ...defaultShapeOptions, window: 30 }), /window must be a multiple of segments/);
  assert.throws(() => new ShapeNovelty({ ...defaultShapeOptions, alphabet: 11 }), RangeError);
});
