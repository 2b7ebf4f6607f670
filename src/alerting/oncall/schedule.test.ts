import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSchedule, upcomingShifts, whoIsOnCall } from './schedule.ts';
import { fromLocal, offsetAt, toLocal } from './zone.ts';

const H = 3_600_000;
const D = 24 * H;
const W = 7 * D;
const iso = (s: string) => Date.parse(s);
const at = (t: number) => new Date(t).toISOString();

test('zone arithmetic: Paris offsets, the skipped and the repeated hour', () => {
  const paris = 'Europe/Paris';
  assert.equal(offsetAt(iso('2026-03-29T00:59:59Z'), paris), H);
  assert.equal(offsetAt(iso('2026-03-29T01:00:00Z'), paris), 2 * H);
  assert.equal(offsetAt(iso('2026-10-25T00:59:59Z'), paris), 2 * H);
  assert.equal(offsetAt(iso('2026-10-25T01:00:00Z'), paris), H);
  // 02:30 does not exist on 29 March: it reads as 03:30 CEST
  assert.equal(at(fromLocal(Date.UTC(2026, 2, 29, 2, 30), paris)), '2026-03-29T01:30:00.000Z');
  // 02:30 happens twice on 25 October: the first one (CEST) is taken
  assert.equal(at(fromLocal(Date.UTC(2026, 9, 25, 2, 30), paris)), '2026-10-25T00:30:00.000Z');
  assert.equal(toLocal(iso('2026-07-01T07:00:00Z'), paris), Date.UTC(2026, 6, 1, 9));
  assert.equal(at(fromLocal(Date.UTC(2026, 6, 1, 9), 'America/New_York')), '2026-07-01T13:00:00.000Z');
});

test('weekly rotation hands off at 09:00 Paris time on both sides of the spring and autumn changes', () => {
  const s = buildSchedule('primary', {
    time_zone: 'Europe/Paris',
    layers: [{ users: ['alice', 'bob'], length: W, handoff: '09:00', start: '2026-03-23' }],
  });
  assert.equal(whoIsOnCall(s, iso('2026-03-23T07:59:59Z')), undefined, 'nobody before the layer starts');
  // 23 March 09:00 CET = 08:00Z
  assert.equal(whoIsOnCall(s, iso('2026-03-23T08:00:00Z'))!.user, 'alice');
  // 30 March 09:00 CEST = 07:00Z: the handoff moved with the wall clock
  assert.equal(whoIsOnCall(s, iso('2026-03-30T06:59:59Z'))!.user, 'alice');
  assert.equal(whoIsOnCall(s, iso('2026-03-30T07:00:00Z'))!.user, 'bob');
  const turn = whoIsOnCall(s, iso('2026-03-24T12:00:00Z'))!;
  assert.equal(turn.end - turn.start, W - H, 'the turn spanning the spring change is an hour short');
  // 26 October 09:00 CET = 08:00Z again (turn 30 from 19 Oct -> alice; turn 31 from 26 Oct -> bob)
  assert.equal(whoIsOnCall(s, iso('2026-10-26T07:59:59Z'))!.user, 'alice');
  assert.equal(whoIsOnCall(s, iso('2026-10-26T08:00:00Z'))!.user, 'bob');
  const autumn = whoIsOnCall(s, iso('2026-10-20T12:00:00Z'))!;
  assert.equal(autumn.end - autumn.start, W + H, 'the turn spanning the autumn change is an hour long');
  for (const sh of upcomingShifts(s, iso('2026-03-01T00:00:00Z'), iso('2026-12-01T00:00:00Z'))) {
    for (const t of [sh.start, sh.end]) {
      if (t === iso('2026-03-01T00:00:00Z') || t === iso('2026-12-01T00:00:00Z') || t === iso('2026-03-23T08:00:00Z')) continue;
      const local = new Date(toLocal(t, 'Europe/Paris'));
      assert.equal(`${local.getUTCHours()}:${local.getUTCMinutes()}`, '9:0', `handoff at ${at(t)} is at 09:00 local`);
    }
  }
});

test('daily rotation across the spring-forward night: 23 h turn, handoff still 09:00', () => {
  const s = buildSchedule('daily', {
    time_zone: 'Europe/Paris',
    layers: [{ users: ['a', 'b', 'c'], length: D, handoff: '09:00', start: '2026-03-28' }],
  });
  const shifts = upcomingShifts(s, iso('2026-03-28T08:00:00Z'), iso('2026-03-31T07:00:00Z'));
  assert.deepEqual(
    shifts.map((x) => [x.user, at(x.start), at(x.end)]),
    [
      ['a', '2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z'],
      ['b', '2026-03-29T07:00:00.000Z', '2026-03-30T07:00:00.000Z'],
      ['c', '2026-03-30T07:00:00.000Z', '2026-03-31T07:00:00.000Z'],
    ],
  );
});

test('a handoff inside the skipped hour happens at the first valid instant after it', () => {
  const s = buildSchedule('night', { time_zone: 'Europe/Paris', layers: [{ users: ['x', 'y'], length: D, handoff: '02:30', start: '2026-03-28' }] });
  assert.equal(whoIsOnCall(s, iso('2026-03-29T01:29:59Z'))!.user, 'x');
  assert.equal(whoIsOnCall(s, iso('2026-03-29T01:30:00Z'))!.user, 'y');
});

test('layers: a business-hours layer overrides the 24/7 layer where it has someone', () => {
  const s = buildSchedule('web', {
    time_zone: 'Europe/Paris',
    layers: [
      { name: 'around-the-clock', users: ['night1', 'night2'], length: W, handoff: '09:00', start: '2026-01-05' },
      {
        name: 'office',
        users: ['dana', 'erin'],
        length: D,
        handoff: '09:00',
        start: '2026-01-05',
        restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '18:00' }],
      },
    ],
  });
  // Monday 5 January 2026, 10:00 Paris = 09:00Z: office layer, turn 0
  assert.deepEqual(whoIsOnCall(s, iso('2026-01-05T09:00:00Z')), { user: 'dana', source: 'layer', layer: 'office', start: iso('2026-01-05T08:00:00Z'), end: iso('2026-01-06T08:00:00Z') });
  assert.equal(whoIsOnCall(s, iso('2026-01-06T09:00:00Z'))!.user, 'erin');
  // 18:00 Paris: back to the base layer
  assert.equal(whoIsOnCall(s, iso('2026-01-05T17:00:00Z'))!.user, 'night1');
  // Saturday: office layer has nobody
  assert.equal(whoIsOnCall(s, iso('2026-01-10T10:00:00Z'))!.user, 'night1');
  assert.equal(whoIsOnCall(s, iso('2026-01-12T10:00:00Z'))!.user, 'erin', 'daily turns run on through the weekend: the 2nd Monday is turn 7');
  const monday = upcomingShifts(s, iso('2026-01-05T00:00:00Z'), iso('2026-01-06T00:00:00Z'));
  assert.deepEqual(
    monday.map((x) => [x.user, x.layer, at(x.start), at(x.end)]),
    [
      // both layers start at 09:00 on 5 January: nobody before that
      ['dana', 'office', '2026-01-05T08:00:00.000Z', '2026-01-05T17:00:00.000Z'],
      ['night1', 'around-the-clock', '2026-01-05T17:00:00.000Z', '2026-01-06T00:00:00.000Z'],
    ],
  );
});

test('overrides win over every layer for their period; the latest override wins over an earlier one', () => {
  const s = buildSchedule('primary', {
    time_zone: 'Europe/Paris',
    layers: [{ users: ['alice', 'bob'], length: W, handoff: '09:00', start: '2026-03-23' }],
    overrides: [
      { user: 'carol', start: iso('2026-03-25T12:00:00Z'), end: iso('2026-03-26T12:00:00Z') },
      { user: 'dave', start: iso('2026-03-26T00:00:00Z'), end: iso('2026-03-26T06:00:00Z') },
    ],
  });
  assert.equal(whoIsOnCall(s, iso('2026-03-25T11:59:59Z'))!.user, 'alice');
  assert.deepEqual(whoIsOnCall(s, iso('2026-03-25T12:00:00Z')), { user: 'carol', source: 'override', start: iso('2026-03-25T12:00:00Z'), end: iso('2026-03-26T12:00:00Z') });
  assert.equal(whoIsOnCall(s, iso('2026-03-26T03:00:00Z'))!.user, 'dave');
  assert.equal(whoIsOnCall(s, iso('2026-03-26T06:00:00Z'))!.user, 'carol');
  assert.equal(whoIsOnCall(s, iso('2026-03-26T12:00:00Z'))!.user, 'alice');
  assert.deepEqual(
    upcomingShifts(s, iso('2026-03-25T00:00:00Z'), iso('2026-03-27T00:00:00Z')).map((x) => [x.user, x.source, at(x.start)]),
    [
      ['alice', 'layer', '2026-03-25T00:00:00.000Z'],
      ['carol', 'override', '2026-03-25T12:00:00.000Z'],
      ['dave', 'override', '2026-03-26T00:00:00.000Z'],
      ['carol', 'override', '2026-03-26T06:00:00.000Z'],
      ['alice', 'layer', '2026-03-26T12:00:00.000Z'],
    ],
  );
});

test('restriction windows crossing midnight belong to the day they start', () => {
  const s = buildSchedule('nights', {
    time_zone: 'UTC',
    layers: [{ users: ['owl'], length: W, handoff: '00:00', start: '2026-01-05', restrictions: [{ days: ['fri'], from: '22:00', to: '06:00' }] }],
  });
  assert.equal(whoIsOnCall(s, iso('2026-01-09T21:59:00Z')), undefined);
  assert.equal(whoIsOnCall(s, iso('2026-01-09T23:00:00Z'))!.user, 'owl');
  assert.equal(whoIsOnCall(s, iso('2026-01-10T05:59:00Z'))!.user, 'owl', 'Saturday early morning belongs to Friday night');
  assert.equal(whoIsOnCall(s, iso('2026-01-10T23:00:00Z')), undefined, 'Saturday night is not covered');
});
