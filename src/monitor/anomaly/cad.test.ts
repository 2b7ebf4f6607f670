import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCad, pyTupleHash } from './cad.ts';

test('CPython 2.7 (64-bit) tuple hash: hash(()) and hash((1, 2, 3))', () => {
  assert.equal(pyTupleHash([]), 3527539n);
  assert.equal(pyTupleHash([1, 2, 3]), 2528502973977326415n);
});

test('CAD: quiet on a repeating pattern once learnt, scores a break in it, scores stay in [0, 1]', () => {
  const cad = createCad({ minValue: 0, maxValue: 7, restPeriod: 30 });
  const pattern = [0, 2, 5, 7, 5, 2];
  let late = 0;
  for (let i = 0; i < 3000; i++) {
    const s = cad.score(pattern[i % pattern.length]!);
    assert.ok(s >= 0 && s <= 1);
    if (i > 2000) late = Math.max(late, s);
  }
  assert.equal(late, 0);
  const spike = cad.score(1);
  assert.ok(spike > 0.5, `${spike}`);
});

test('CAD: maxContexts bounds the memory', () => {
  const cad = createCad({ minValue: 0, maxValue: 1, restPeriod: 30, maxContexts: 500, runningRange: true });
  let x = 0.3;
  for (let i = 0; i < 5000; i++) {
    x = 3.9 * x * (1 - x); // chaotic, keeps producing new contexts
    cad.score(x);
  }
  assert.ok(cad.contexts <= 500);
});
