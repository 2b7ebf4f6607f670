import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instanceLine, sloLine } from './status.ts';

test('an SLO line says what was spent over the window so far, the burn per window and "too little data"', () => {
  const line = sloLine({
    name: 'availability',
    objective: 0.999,
    periodMs: 30 * 86_400_000,
    coveredMs: 5 * 60_000,
    budgetSpent: 0.000787,
    budgetRemaining: 0.999213,
    tooLittleData: 'too little data: 600 of the 10,000 events it takes to see 10 errors at the budget rate',
    compliant: true,
    alerts: [
      { severity: 'page', longWindowMs: 3_600_000, longWindowFull: false, longBurnRate: 6.8, shortBurnRate: 6.8 },
      { severity: 'ticket', longWindowMs: 3 * 86_400_000, longWindowFull: false, longBurnRate: 6.8 },
    ],
  });
  assert.equal(
    line.replace(/\x1b\[[0-9;]*m/g, ''),
    'SLO availability 99.9%: within budget, 0.08% of the 30d error budget spent over the 5m so far (99.9% left); burn 1h 6.8x (5m held), 3d 6.8x (5m held); too little data: 600 of the 10,000 events it takes to see 10 errors at the budget rate',
  );
  assert.match(sloLine({ name: 'x', objective: 0.99, alerts: [] }), /no traffic yet/);
});

test('a fresh SLO line: under a minute held is said in seconds (not "0m"), a window without traffic says so (not "-x")', () => {
  const line = sloLine({
    name: 'availability',
    objective: 0.999,
    periodMs: 30 * 86_400_000,
    coveredMs: 25_000,
    budgetSpent: 0,
    budgetRemaining: 1,
    compliant: true,
    alerts: [
      { severity: 'page', longWindowMs: 3_600_000, longWindowFull: false, longBurnRate: 0, shortBurnRate: 0 },
      { severity: 'ticket', longWindowMs: 3 * 86_400_000, longWindowFull: false },
    ],
  }).replace(/\x1b\[[0-9;]*m/g, '');
  assert.match(line, /spent over the 25s so far/);
  assert.match(line, /burn 1h 0\.0x \(25s held\), 3d no traffic \(25s held\)/);
  assert.doesNotMatch(line, /0m|-x/);
});

test('an instance line names the host it runs on (ssh target), and only the port for a local one', () => {
  const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
  assert.equal(strip(instanceLine({ id: 'web-a399178b', version: '1.0.0', port: 41082, state: 'ready', restarts: 0, host: 'web-2' })), 'instance web-a399178b 1.0.0 web-2:41082 ready');
  assert.equal(strip(instanceLine({ id: 'web-1', version: '1.0.0', port: 8101, state: 'starting', restarts: 2 })), 'instance web-1 1.0.0 :8101 starting restarts 2');
});
