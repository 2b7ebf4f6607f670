import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinScenarioNames, loadScenario, parseScenario, planFaults, rootCauseMatches, ScenarioError } from './scenario.ts';

test('the six built-in scenarios are valid', () => {
  assert.deepEqual(builtinScenarioNames(), ['3-june', 'crash-loop', 'dependency-down', 'error-burst', 'latency-creep', 'memory-leak']);
  for (const n of builtinScenarioNames()) assert.equal(loadScenario(n).scenario.name, n);
});

test('a bad scenario reports every problem with file:line:column', () => {
  const text = 'version: 1\nname: Bad\ntitle: x\nduraton: 5m\ncause: { summary: x, match: [] }\nfaults:\n  - { kind: error, share: 1.5 }\n  - { kind: dependency, dependency: acme-auth, report: old }\n';
  try {
    parseScenario(text, 'drills/bad.yaml');
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof ScenarioError);
    const where = err.problems.map((p) => `${p.line}:${p.column} ${p.path}`);
    assert.deepEqual(where, ['2:7 name', '4:1 duraton', '5:29 cause.match', '7:27 faults[0].share', '8:56 faults[1].report']);
    assert.match(err.message, /drills\/bad\.yaml:4:1 {2}duraton: unknown key "duraton"/);
  }
});

test('the plan bounds every fault by the drill and expands a creep into steps', () => {
  const s = parseScenario('version: 1\nname: p\ntitle: p\nduration: 10m\ncause: { summary: slow, match: [Latency] }\nfaults:\n  - { kind: latency, at: 1m, latency: 100ms, ramp: { to: 500ms, over: 4m, steps: 4 } }\n  - { kind: error, at: 2m, for: 30m }\n');
  const plan = planFaults(s, 'd', '2.0.0');
  assert.deepEqual(plan.map((p) => [p.at / 1000, p.ttlMs / 1000, 'latencyMs' in p ? p.latencyMs : 'kind' in p ? p.kind : p.report]), [
    [60, 540, 100],
    [120, 480, 200],
    [120, 480, 'error'],
    [180, 420, 300],
    [240, 360, 400],
    [300, 300, 500],
  ]);
  assert.ok(plan.every((p) => p.at + p.ttlMs <= s.duration));
  assert.equal(rootCauseMatches(s, 'the LATENCY grew'), true);
  assert.equal(rootCauseMatches(s, 'database'), false);
});
