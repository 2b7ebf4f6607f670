import { test } from 'node:test';
import { ofType } from '../events/catalogue/index.ts';
import assert from 'node:assert/strict';
import { ManualClock, systemClock } from '../clock/clock.ts';
import { MemoryEventLog } from '../events/memory-log.ts';
import type { Check, CheckContext, CheckResult } from './check.ts';
import { parseCheck } from './registry.ts';
import { runChecks } from './runner.ts';

function ctx(over: Partial<CheckContext> = {}): CheckContext {
  return {
    environment: 'staging',
    service: 'web',
    release: { version: '2.0.0', digest: 'sha256:abc', requires: {} },
    instanceUrls: [],
    dependencies: {},
    clock: systemClock,
    ...over,
  };
}

const opts = (events: MemoryEventLog) => ({ events, actor: 'controller', subject: 'deployment/d1' });

/** A check that never answers and ignores its signal: what the runner's own deadline is for. */
const hung = (name: string): Check => ({ name, kind: 'stub', phase: 'pre', run: () => new Promise<CheckResult>(() => undefined) });

test('runner: one event per check with its verdict type, the result, environment and release', async () => {
  const events = new MemoryEventLog();
  const checks = [
    parseCheck('ok', { kind: 'command', command: 'true' }),
    parseCheck('bad', { kind: 'command', command: 'exit 4' }),
    parseCheck('compat', { kind: 'compatibility' }),
  ];
  const out = await runChecks(checks, ctx({ release: { version: '2.0.0', digest: 'sha256:abc', requires: { 'acme-auth': '^3' } } }), opts(events));
  assert.equal(out.verdict, 'fail');
  assert.deepEqual(out.results.map((r) => [r.name, r.verdict]), [['ok', 'pass'], ['bad', 'fail'], ['compat', 'error']]);
  const logged = (await events.query()).filter(ofType('check.passed', 'check.failed', 'check.errored'));
  assert.deepEqual(logged.map((e) => e.type), ['check.passed', 'check.failed', 'check.errored']);
  for (const e of logged) {
    assert.equal(e.actor, 'controller');
    assert.equal(e.subject, 'deployment/d1');
    assert.equal(e.data.environment, 'staging');
    assert.equal(e.data.version, '2.0.0');
    assert.equal(e.data.service, 'web');
    assert.equal(e.data.phase, 'pre');
  }
  assert.equal(logged[1]!.data.name, 'bad');
  assert.equal(logged[1]!.data.kind, 'command');
  assert.equal(logged[1]!.data.message, out.results[1]!.message);
  assert.equal(typeof logged[1]!.data.durationMs, 'number');
  assert.deepEqual((logged[1]!.data.details as { exitCode: number }).exitCode, 4);
});

test('runner: all pass is pass; an error without a fail is error; nothing to run is pass', async () => {
  const events = new MemoryEventLog();
  assert.equal((await runChecks([parseCheck('a', { kind: 'command', command: 'true' })], ctx(), opts(events))).verdict, 'pass');
  const mixed = await runChecks([parseCheck('a', { kind: 'command', command: 'true' }), parseCheck('b', { kind: 'compatibility' })], ctx({ release: { version: '1.0.0', digest: 'd', requires: { x: '^1' } } }), opts(events));
  assert.equal(mixed.verdict, 'error');
  assert.deepEqual(await runChecks([], ctx(), opts(events)), { verdict: 'pass', results: [] });
});

test('runner: a check that hangs past its deadline is an error, and the run goes on', async () => {
  const clock = new ManualClock(0);
  const events = new MemoryEventLog(clock);
  const after: Check = { name: 'after', kind: 'stub', phase: 'pre', run: async () => ({ name: 'after', kind: 'stub', verdict: 'pass', message: 'ok', durationMs: 0 }) };
  const p = runChecks([hung('stuck'), after], ctx({ clock }), { ...opts(events), timeoutMs: 1000 });
  await clock.advance(999);
  assert.equal((await events.query()).length, 0);
  await clock.advance(1);
  await clock.advance(2000); // the grace the runner gives a stopped check to report
  const out = await p;
  assert.equal(out.verdict, 'error');
  assert.equal(out.results[0]!.message, 'check stuck did not finish within 1s');
  assert.equal(out.results[1]!.verdict, 'pass');
  assert.deepEqual((await events.query()).map((e) => e.type), ['check.errored', 'check.passed']);
});

test('runner: a check that throws is an error, not a crash of the run', async () => {
  const events = new MemoryEventLog();
  const boom: Check = { name: 'boom', kind: 'stub', phase: 'post', run: async () => { throw new Error('bug in check'); } };
  const out = await runChecks([boom], ctx(), opts(events));
  assert.equal(out.verdict, 'error');
  assert.equal(out.results[0]!.message, 'check boom crashed: bug in check');
  assert.equal((await events.query())[0]!.type, 'check.errored');
});

test('runner: cancelling the deployment stops the running check and skips the rest', async () => {
  const events = new MemoryEventLog();
  const ac = new AbortController();
  const checks = [parseCheck('long', { kind: 'command', command: 'sleep 30', timeout: '20s' }), parseCheck('never', { kind: 'command', command: 'true' })];
  const p = runChecks(checks, ctx({ signal: ac.signal }), opts(events));
  setTimeout(() => ac.abort(new Error('deployment cancelled by ann')), 100);
  const out = await p;
  assert.equal(out.verdict, 'error');
  assert.equal(out.results.length, 1);
  assert.match(out.results[0]!.message, /sleep 30 was cancelled/);
  assert.deepEqual((await events.query()).map((e) => e.type), ['check.errored']);
});
