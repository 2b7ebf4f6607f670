import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContextualNovelty } from './contextual.ts';

const opts = { learn: 100, bins: 6, order: 2, tableBits: 10 };
// a sawtooth over 0..59 with period 60: every level and every transition repeats
const saw = (i: number) => i % 60;

test('a repeating pattern becomes fully predicted; a level never seen is fully novel', () => {
  const c = new ContextualNovelty(opts);
  for (let i = 0; i < 100; i++) assert.equal(c.novelty(saw(i)), 0, 'learning points score 0');
  for (let i = 100; i < 400; i++) assert.equal(c.novelty(saw(i)), 0, `point ${i}`);
  assert.equal(c.novelty(500), 1);
});

test('a known level reached by a transition never seen is half novel (one of its two facts)', () => {
  const c = new ContextualNovelty(opts);
  for (let i = 0; i < 360; i++) c.novelty(saw(i));
  // six levels 59/6 wide from 0 (the maximum, 59, lands on the level just above); the last value was
  // 59, and 59 -> 5 happens every cycle
  assert.equal(c.novelty(5), 0);
  // level 0 was only ever followed by levels 0 and 1, never by level 5 (55); nor level 5 by level 0
  assert.equal(c.novelty(55), 0.5);
  assert.equal(c.novelty(5), 0.5);
  assert.equal(c.novelty(55), 0, 'learnt after one occurrence');
  assert.equal(c.novelty(5), 0);
});

test('memory is bounded: the same bytes after a million points of new levels', () => {
  const c = new ContextualNovelty(opts);
  const before = c.bytes;
  for (let i = 0; i < 1_000_000; i++) c.novelty(i * 37);
  assert.equal(c.bytes, before);
  assert.ok(before < 16_000, `${before} bytes`);
});

test('a flat warm-up does not make every later wiggle a new level', () => {
  const c = new ContextualNovelty(opts);
  for (let i = 0; i < 100; i++) c.novelty(1000);
  // the wiggle's levels and transitions are new once, then predicted
  for (let i = 0; i < 10; i++) c.novelty(1000 + (i % 3) * 0.2);
  for (let i = 10; i < 300; i++) assert.equal(c.novelty(1000 + (i % 3) * 0.2), 0, `point ${i}`);
});

test('options out of range are refused with what was given', () => {
  assert.throws(() => new ContextualNovelty({ ...opts, tableBits: 40 }), /tableBits in 4\.\.24.*"tableBits":40/);
  assert.throws(() => new ContextualNovelty({ ...opts, bins: 0 }), /bins, order and learn must be >= 1/);
});
