import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RobustBaseline } from './baseline.ts';

const noise = (i: number) => ((i * 7919) % 13) / 13 - 0.5;

test('the first point only seeds the baseline; later points are read against what came before', () => {
  const b = new RobustBaseline(0.01, 0.3);
  assert.equal(b.read(10), undefined);
  b.learn(10);
  const r = b.read(10);
  assert.ok(r && r.zLevel === 0 && r.zDiff === 0 && r.dev > 0 && r.diffDev > 0, 'a flat start has finite, floored scales');
});

test('a spike is winsorised: it does not become normal, the level a few points later is still surprising', () => {
  const b = new RobustBaseline(0.01, 0.3);
  for (let i = 0; i < 2000; i++) {
    b.read(50 + noise(i));
    b.learn(50 + noise(i));
  }
  const before = b.mean;
  const spike = b.read(5000)!;
  b.learn(5000);
  assert.ok(spike.zLevel > 100, `spike z ${spike.zLevel}`);
  assert.ok(Math.abs(b.mean - before) < 0.1, `one spike moved the level by ${b.mean - before}`);
  // a level shift is seen by the fast mean after a few points
  let zFast = 0;
  for (let i = 0; i < 5; i++) {
    zFast = b.read(80)!.zFast;
    b.learn(80);
  }
  assert.ok(zFast > 20, `fast z after a shift ${zFast}`);
});

test('minRate makes the baseline learn a new level faster', () => {
  const slow = new RobustBaseline(0.001, 0.3);
  const fast = new RobustBaseline(0.001, 0.3);
  for (let i = 0; i < 3000; i++) {
    const x = (i < 2000 ? 50 : 60) + noise(i);
    slow.read(x);
    slow.learn(x);
    fast.read(x);
    fast.learn(x, i >= 2000 ? 0.05 : 0);
  }
  assert.ok(Math.abs(fast.mean - 60) < Math.abs(slow.mean - 60), `${fast.mean} vs ${slow.mean}`);
});
