// The contract every EventLog passes (the SQLite store, the in-memory fake, and a future
// PostgreSQL store). Call it from each implementation's test file. Its events are built with the
// catalogue's constructor, so they are the events Greenlight really writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GreenlightError } from '../errors/errors.ts';
import { event } from './catalogue/index.ts';
import type { EventLog, NewEvent } from './log.ts';

const ref = { deploymentId: 'd1', service: 'web', version: '1.0.0' };
const requested = (id = 'd1', actor = 'user:ann', time?: number) =>
  event('deployment.requested', { actor, subject: `deployment/${id}`, data: { ...ref, deploymentId: id, digest: 'sha256:x', environments: ['staging'], force: false }, ...(time !== undefined ? { time } : {}) });
const registered = (time?: number) =>
  event('release.registered', {
    actor: 'cli',
    subject: 'release/web@1.0.0',
    data: { service: 'web', version: '1.0.0', digest: 'sha256:x', artifactDir: '/a', source: '/s', requires: {} },
    ...(time !== undefined ? { time } : {}),
  });
const note = (text: string) => event('incident.note.added', { actor: 'user:ann', subject: 'incident/i1', data: { incidentId: 'i1', text } });

export function eventLogContract(name: string, open: () => Promise<{ log: EventLog; reopen?: () => Promise<EventLog> }>): void {
  test(`${name}: appends get increasing seq and keep type, actor, subject, data and time`, async () => {
    const { log } = await open();
    const a = await log.append(registered(1000));
    const b = await log.append(requested());
    assert.ok(b.seq > a.seq);
    assert.equal(a.time, 1000);
    const all = await log.query();
    assert.deepEqual(all.map((e) => e.type), ['release.registered', 'deployment.requested']);
    assert.deepEqual(all[0]!.data, registered().data);
    assert.equal(all[1]!.actor, 'user:ann');
    assert.equal(await log.lastSeq(), b.seq);
    await log.close();
  });

  test(`${name}: filters by type pattern, subject prefix, seq, time and limit`, async () => {
    const { log } = await open();
    await log.appendAll([
      requested('d1', 'a', 10),
      event('deployment.gate.passed', { actor: 'a', subject: 'deployment/d1', time: 20, data: { ...ref, environment: 'staging', because: 'first environment of the pipeline' } }),
      event('deployment.promoted', { actor: 'a', subject: 'deployment/d1', time: 30, data: ref }),
      requested('d2', 'a', 40),
    ]);
    assert.equal((await log.query({ types: ['deployment.*'] })).length, 4);
    assert.equal((await log.query({ types: ['deployment.gate.*'] })).length, 1);
    assert.equal((await log.query({ types: ['deployment.gate.passed', 'deployment.promoted'] })).length, 2);
    assert.equal((await log.query({ subject: 'deployment/d2' })).length, 1);
    assert.equal((await log.query({ subject: 'deployment/*' })).length, 4);
    assert.equal((await log.query({ since: 20, until: 30 })).length, 2);
    const first = (await log.query())[0]!;
    assert.equal((await log.query({ afterSeq: first.seq })).length, 3);
    const last2 = await log.query({ limit: 2, descending: true });
    assert.deepEqual(last2.map((e) => e.time), [40, 30]);
    await log.close();
  });

  test(`${name}: subscribers see appends; unsubscribing stops them`, async () => {
    const { log } = await open();
    const seen: string[] = [];
    const off = log.subscribe((e) => seen.push(e.type));
    await log.append(note('one'));
    off();
    await log.append(registered());
    assert.deepEqual(seen, ['incident.note.added']);
    await log.close();
  });

  test(`${name}: returned events are copies, the log cannot be changed through them`, async () => {
    const { log } = await open();
    await log.append(note('as written'));
    const [e] = await log.query();
    (e!.data as { text: string }).text = 'changed';
    assert.deepEqual((await log.query())[0]!.data, { incidentId: 'i1', text: 'as written' });
    await log.close();
  });

  test(`${name}: an event outside the catalogue is refused at the door, naming the type and field; nothing is appended`, async () => {
    const { log } = await open();
    await log.append(registered());
    // what a caller without the compiler's help could send: a field missing, one of the wrong type, one unknown
    const bad = { type: 'deployment.requested', actor: 'user:ann', subject: 'deployment/d9', data: { deploymentId: 'd9', service: 'web', version: 7, environments: ['staging'], force: false, colour: 'red' } } as unknown as NewEvent;
    const refused = await log.appendAll([requested('d8'), bad]).then(
      () => assert.fail('the batch was appended'),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof GreenlightError);
    assert.equal(refused.code, 'EVENT_INVALID');
    assert.match(refused.message, /event deployment\.requested does not match the event catalogue/);
    assert.match(refused.message, /event 2 of the batch; nothing was appended/);
    assert.match(refused.message, /data\.version: .*expected string/);
    assert.match(refused.message, /data\.digest: .*expected string/);
    assert.match(refused.message, /data: unknown field\(s\) colour/);
    assert.match(refused.hint ?? '', /src\/events\/catalogue\/deployment\.ts/);
    const unknown = { type: 'deployment.started', actor: 'a', subject: 's', data: {} } as unknown as NewEvent;
    await assert.rejects(log.append(unknown), (err: GreenlightError) => err.code === 'EVENT_INVALID' && /unknown event type "deployment\.started"/.test(err.message));
    const noActor = { ...registered(), actor: '' } as NewEvent;
    await assert.rejects(log.append(noActor), /release\.registered .*actor: expected a non-empty string/);
    // the valid event before the bad one was not appended either
    assert.deepEqual((await log.query()).map((e) => e.type), ['release.registered']);
    assert.equal(await log.lastSeq(), 1);
    await log.close();
  });

  test(`${name}: what was appended is there after reopening`, async () => {
    const { log, reopen } = await open();
    if (!reopen) return; // in-memory fake: nothing survives by design
    await log.append(requested());
    await log.close();
    const again = await reopen();
    const events = await again.query();
    assert.equal(events.length, 1);
    assert.deepEqual(events[0]!.data, requested().data);
    await again.close();
  });
}
