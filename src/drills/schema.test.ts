import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, ConfigError } from '../config/load.ts';

const base = `version: 1
services:
  web: { command: [node, server.mjs], health: { path: /healthz } }
environments:
  - { name: staging, router: { listen: "127.0.0.1:18081" } }
  - { name: production, router: { listen: "127.0.0.1:18082" } }
alerting:
  route: { receiver: r }
  receivers: [{ name: r, notifiers: [{ kind: webhook, url: "http://127.0.0.1:9/x" }] }]
  users: [{ id: alice }]
`;

test('drills: in the config is checked against environments, users and on-call schedules, with locations', () => {
  const text = `${base}drills:
  targets: { acknowledge: 3m }
  schedule:
    every: 14d
    start: "2026-06-03T10:00:00Z"
    scenarios: [3-june]
    environment: stagin
    participants: [alice, zoe]
`;
  try {
    parseConfigText(text, 'greenlight.yaml');
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.deepEqual(err.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`), [
      '17:18 drills.schedule.environment: unknown environment "stagin"',
      '18:27 drills.schedule.participants[1]: unknown user "zoe"',
    ]);
  }
  const ok = parseConfigText(`${base}drills:\n  targets: { acknowledge: 3m }\n`);
  assert.deepEqual(ok.drills?.targets, { acknowledge: 180_000, mitigate: 600_000 });
  assert.equal(ok.drills?.allow_production, false);
});
