import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArtNovelty, artDefaults } from './art.ts';

const noise = (i: number) => ((i * 7919) % 13) / 13;
// high half a day, low half a day (5-minute points): two levels, two transitions, a few window shapes
const day = (i: number) => (Math.floor(i / 144) % 2 === 0 ? 10 : 50) + noise(i);

test('a repeating pattern is learnt: no novelty after its first cycles, and none while learning', () => {
  const a = new ArtNovelty();
  for (let i = 0; i < artDefaults.learn; i++) assert.equal(a.novelty(day(i)), false, 'learning points are never novel');
  const novel: number[] = [];
  for (let i = artDefaults.learn; i < 6000; i++) if (a.novelty(day(i))) novel.push(i);
  assert.ok(novel.every((i) => i < 1200), `novelties after the first days: ${novel.filter((i) => i >= 1200).slice(0, 5)}`);
});

test('a shape never seen inside known levels is novel at once: toggling between the two levels every hour', () => {
  const a = new ArtNovelty();
  const toggled = (i: number) => (i >= 3000 && i < 3072 ? (Math.floor(i / 12) % 2 ? 10 : 50) + noise(i) : day(i));
  const novel: number[] = [];
  // the first days are learnt (the daily edge at every position of the window), then only the toggling is new
  for (let i = 0; i < 6000; i++) if (a.novelty(toggled(i)) && i >= 1200) novel.push(i);
  assert.ok(novel.length > 0 && novel[0]! >= 3000 && novel[0]! <= 3030, `first novelty at ${novel[0]}`);
  assert.ok(novel.every((i) => i >= 3000 && i < 3072 + artDefaults.window), `novel outside the toggling: ${novel.filter((i) => i < 3000 || i >= 3104)}`);
});

test('memory is bounded: the same bytes and at most `cats` categories after a million points of noise', () => {
  const a = new ArtNovelty();
  const before = a.bytes;
  let x = 1;
  for (let i = 0; i < 1_000_000; i++) {
    x = (x * 16807) % 2147483647;
    a.novelty(x / 2147483647);
  }
  assert.equal(a.bytes, before);
  assert.ok(a.categories <= artDefaults.cats);
  assert.ok(before < 24_000, `${before} bytes`);
});

test('a flat learning stretch does not make every later wiggle novel', () => {
  const a = new ArtNovelty();
  for (let i = 0; i < artDefaults.learn; i++) a.novelty(1000);
  const novel: number[] = [];
  for (let i = 0; i < 3000; i++) if (a.novelty(1000 + (i % 3) * 0.2)) novel.push(i);
  assert.ok(novel.every((i) => i < 200), `late novelties ${novel.filter((i) => i >= 200).slice(0, 5)}`);
});

test('options out of range are refused with what was given', () => {
  assert.throws(() => new ArtNovelty({ window: 4, features: 8 }), /window >= features.*"window":4/);
  assert.throws(() => new ArtNovelty({ quantile: 1 }), /quantile in \(0, 1\)/);
});
