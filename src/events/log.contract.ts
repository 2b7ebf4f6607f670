// The contract every EventLog passes (the SQLite and PostgreSQL stores and the in-memory fake).
// Call it from each implementation's test file. Its events are built with the catalogue's
// constructor, so they are the events Greenlight really writes. A real store also gives the spec another process
// opens it with: the suite then checks what only a shared store can get wrong (writers in two
// processes, subscriptions across processes).
import { test as baseTest, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GreenlightError } from '../errors/errors.ts';
import { event, ofType } from './catalogue/index.ts';
import { numbered } from './testing.ts';

const numberOf = (e: StoredEvent) => Number((e.data as { text: string }).text);
import { pages, type EventLog, type NewEvent, type StoredEvent } from './log.ts';
import type { StoreSpec } from '../store/registry.ts';
import { chainHash, GENESIS_HASH, verifyChain } from '../audit/chain.ts';

export interface ContractSubject {
  log: EventLog;
  reopen?: () => Promise<EventLog>;
  /** how another process opens the same store (real stores only) */
  spec?: StoreSpec;
}

export interface ContractOptions {
  /** why the suite cannot run here (a missing peer): every test is skipped with it */
  skip?: string;
}

const writerScript = fileURLToPath(new URL('../store/contract-writer.ts', import.meta.url));

/** Runs the contract writer in a child process; resolves when it exited 0. */
function writeFromProcess(spec: StoreSpec, writer: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', writerScript, JSON.stringify(spec), writer, String(count)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      code === 0 ? resolve() : reject(new Error(`writer ${writer} exited ${code ?? signal}: ${err.slice(-2000)}`));
    });
  });
}

/** Resolves when pred holds, polling every 20 ms; rejects after ms (a bound, not a speed assertion). */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

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

export function eventLogContract(name: string, open: () => Promise<ContractSubject>, options: ContractOptions = {}): void {
  const test = (title: string, fn: (t: TestContext) => Promise<void>) => baseTest(title, options.skip ? { skip: options.skip } : {}, fn);
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

  test(`${name}: every event carries a hash over its content chained to the previous event's`, async () => {
    const { log } = await open();
    await log.append(event('release.registered', { actor: 'cli', subject: 'release/web@1.0.0', data: { service: 'web', version: '1.0.0', digest: 'sha256:x', artifactDir: '/a', source: '/s', requires: { b: '1', a: '^2' } } }));
    await log.appendAll([requested(), note('hotfix')]);
    const all = await log.query();
    const rows = await log.queryRows();
    assert.equal(all[0]!.prevHash, GENESIS_HASH);
    for (let i = 0; i < all.length; i++) {
      const e = all[i]!;
      assert.match(e.hash ?? '', /^[0-9a-f]{64}$/);
      if (i > 0) assert.equal(e.prevHash, all[i - 1]!.hash);
      assert.equal(chainHash(e.prevHash!, rows[i]!), e.hash, 'the hash is recomputable from the rows the store gives back');
    }
    const v = await verifyChain(log);
    assert.deepEqual({ ok: v.ok, checked: v.checked, head: v.head }, { ok: true, checked: 3, head: { seq: all[2]!.seq, hash: all[2]!.hash } });
    await log.close();
  });

  test(`${name}: an appendAll that fails half-way appends nothing`, async () => {
    const { log } = await open();
    await log.append(note('before'));
    const seen: string[] = [];
    log.subscribe((e) => seen.push((e.data as { text: string }).text));
    const before = await log.lastSeq();
    await assert.rejects(log.appendAll([
      note('one'),
      note('two'),
      { ...note('three'), type: null } as unknown as NewEvent, // refused by the store
      note('four'),
    ]));
    assert.equal(await log.lastSeq(), before);
    assert.deepEqual((await log.query()).map((e) => (e.data as { text: string }).text), ['before']);
    const after = await log.append(note('after'));
    assert.ok(after.seq > before);
    assert.deepEqual(seen, ['after']);
    await log.close();
  });

  test(`${name}: a large log is read in pages, in order, nothing missed`, async () => {
    const { log } = await open();
    const total = 12_000;
    for (let i = 0; i < total; i += 1000) {
      await log.appendAll(Array.from({ length: 1000 }, (_, j) => numbered('bulk', i + j)));
    }
    let count = 0;
    let pagesRead = 0;
    let lastSeq = 0;
    for await (const page of pages(log, { types: ['incident.note.*'] }, 500)) {
      pagesRead++;
      assert.ok(page.length <= 500);
      for (const e of page) {
        assert.ok(e.seq > lastSeq);
        assert.equal(numberOf(e), count);
        lastSeq = e.seq;
        count++;
      }
    }
    assert.equal(count, total);
    assert.equal(pagesRead, total / 500);
    await log.close();
  });

  test(`${name}: two processes writing at once: nothing lost, duplicated or reordered; a third sees it all`, async (t) => {
    const { log, spec } = await open();
    if (!spec) {
      await log.close();
      return t.skip('in-memory fake: not shared between processes by design');
    }
    const seen: StoredEvent[] = [];
    log.subscribe((e) => seen.push(e));
    const each = 150;
    await Promise.all([writeFromProcess(spec, 'a', each), writeFromProcess(spec, 'b', each)]);
    const all = (await log.query({ subject: 'writer/*' })).filter(ofType('incident.note.added'));
    assert.equal(all.length, 2 * each, 'events lost or duplicated');
    assert.equal(new Set(all.map((e) => e.id)).size, all.length, 'duplicate ids');
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.seq > all[i - 1]!.seq, 'seq not increasing');
    for (const w of ['a', 'b']) {
      const mine = all.filter((e) => e.data.incidentId === w).map(numberOf);
      assert.deepEqual(mine, Array.from({ length: each }, (_, i) => i), `writer ${w}'s events out of order`);
    }
    // the subscriber in this process was told of the other processes' appends, in the log's order
    await until(() => seen.length >= all.length, 20_000, 'the subscription to deliver the other processes\' appends');
    assert.deepEqual(seen.map((e) => e.seq), all.map((e) => e.seq));
    await log.close();
  });

  test(`${name}: a subscriber is told of another process's append without appending itself`, async (t) => {
    const { log, spec } = await open();
    if (!spec) {
      await log.close();
      return t.skip('in-memory fake: not shared between processes by design');
    }
    await log.append(note('mine'));
    const seen: string[] = [];
    log.subscribe((e) => seen.push(`${e.subject}:${(e.data as { text?: string }).text}`));
    await writeFromProcess(spec, 'other', 2);
    await until(() => seen.length >= 2, 20_000, 'the cross-process notification');
    assert.deepEqual(seen, ['writer/other:0', 'writer/other:1']);
    await log.close();
  });
}
