// The drill schedule on a manual clock with the real drill runner: reminders ahead, participants
// in turn, a blackout moving a drill, a missed drill recorded, a due drill started by itself.
import { ofType } from '../events/catalogue/index.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DrillScheduler, slotAt } from './schedule.ts';
import { drillScheduleSchema } from './schema.ts';
import { loadScenario } from './scenario.ts';
import { drillFixture } from './testing.ts';

const DAY = 86_400_000;

test('slots: cadence, scenarios and participants in turn, blackout moves a drill to the window end', () => {
  const s = drillScheduleSchema.parse({
    every: '7d',
    start: '2026-06-03T10:00:00Z',
    scenarios: ['3-june', 'error-burst'],
    participants: ['alice', 'bob', 'carol'],
    blackout: [{ from: '2026-06-09T00:00:00Z', to: '2026-06-12T00:00:00Z', reason: 'release freeze' }],
  });
  const pool = s.participants!;
  const slots = [0, 1, 2, 3].map((i) => slotAt(s, pool, i));
  assert.deepEqual(slots.map((x) => [new Date(x.dueAt).toISOString(), x.scenario, x.participants.join()]), [
    ['2026-06-03T10:00:00.000Z', '3-june', 'alice'],
    ['2026-06-12T00:00:00.000Z', 'error-burst', 'bob'],
    ['2026-06-17T10:00:00.000Z', '3-june', 'carol'],
    ['2026-06-24T10:00:00.000Z', 'error-burst', 'alice'],
  ]);
  assert.equal(slots[1]!.movedBy, 'release freeze');
});

test('reminders go out ahead, an unstarted drill is recorded as missed, and auto_start runs the next one', async (t) => {
  const f = await drillFixture(t);
  const start = f.clock.now() + 2 * DAY;
  const base = { every: '7d', start: new Date(start).toISOString(), scenarios: ['error-burst'], participants: ['alice', 'bob'], remind: ['1d', '1h'], grace: '1h', environment: 'staging' };
  const reminders: { who: string[]; text: string; at: number }[] = [];
  const started: number[] = [];
  const make = (extra: Record<string, unknown>) =>
    new DrillScheduler({
      clock: f.clock,
      events: f.events,
      schedule: drillScheduleSchema.parse({ ...base, ...extra }),
      pool: ['alice', 'bob'],
      remind: async (who, text) => void reminders.push({ who, text, at: f.clock.now() }),
      start: async (slot) => {
        started.push(slot.index);
        return (await f.runner.begin({ scenario: loadScenario(slot.scenario).scenario, ref: slot.scenario, environment: 'staging', participants: slot.participants, actor: 'drills:schedule' })).id;
      },
    });
  const s1 = make({});
  await s1.start();
  await f.clock.advance(DAY);
  assert.deepEqual(reminders.map((r) => [r.who.join(), r.at - start]), [['alice', -DAY]]);
  assert.match(reminders[0]!.text, /^DRILL reminder: error-burst in staging/);
  await f.clock.advance(DAY - 3_600_000);
  assert.deepEqual(reminders.map((r) => r.at - start), [-DAY, -3_600_000]);
  await f.clock.advance(3_600_000 + 3_600_000);
  const missed = (await f.events.query({ types: ['drill.missed'] })).filter(ofType('drill.missed'));
  assert.equal(missed.length, 1, 'nobody started it within the grace');
  assert.deepEqual(missed[0]!.data.participants, ['alice']);
  s1.stop();

  // the same schedule, restarted with auto_start: the next slot (bob) starts on its own
  const s2 = make({ auto_start: true });
  await s2.start();
  t.after(() => s2.stop());
  await f.clock.advance(7 * DAY - 3_600_000);
  assert.deepEqual(started, [1]);
  assert.deepEqual(f.runner.running()?.participants, ['bob']);
  const done = await f.events.query({ types: ['drill.slot.done'] });
  assert.equal(done.length, 1);
  assert.equal((await f.events.query({ types: ['drill.missed'] })).length, 1, 'the missed slot is not recorded twice after a restart');
  await f.runner.halt('user:bob');
});
