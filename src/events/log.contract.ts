// The contract every EventLog passes (the SQLite and PostgreSQL stores and the in-memory fake).
// Call it from each implementation's test file. A real store also gives the spec another process
// opens it with: the suite then checks what only a shared store can get wrong (writers in two
// processes, subscriptions across processes).
import { test as baseTest, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pages, type EventLog, type StoredEvent } from './log.ts';
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

export function eventLogContract(name: string, open: () => Promise<ContractSubject>, options: ContractOptions = {}): void {
  const test = (title: string, fn: (t: TestContext) => Promise<void>) => baseTest(title, options.skip ? { skip: options.skip } : {}, fn);
  test(`${name}: appends get increasing seq and keep type, actor, subject, data and time`, async () => {
    const { log } = await open();
    const a = await log.append({ type: 'release.registered', actor: 'cli', subject: 'release/web@1.0.0', data: { digest: 'sha256:x' }, time: 1000 });
    const b = await log.append({ type: 'deployment.started', actor: 'user:ann', subject: 'deployment/d1' });
    assert.ok(b.seq > a.seq);
    assert.equal(a.time, 1000);
    const all = await log.query();
    assert.deepEqual(all.map((e) => e.type), ['release.registered', 'deployment.started']);
    assert.deepEqual(all[0]!.data, { digest: 'sha256:x' });
    assert.equal(all[1]!.actor, 'user:ann');
    assert.equal(await log.lastSeq(), b.seq);
    await log.close();
  });

  test(`${name}: filters by type pattern, subject prefix, seq, time and limit`, async () => {
    const { log } = await open();
    await log.appendAll([
      { type: 'deployment.started', actor: 'a', subject: 'deployment/d1', time: 10 },
      { type: 'check.passed', actor: 'a', subject: 'deployment/d1', time: 20 },
      { type: 'deployment.promoted', actor: 'a', subject: 'deployment/d1', time: 30 },
      { type: 'deployment.started', actor: 'a', subject: 'deployment/d2', time: 40 },
    ]);
    assert.equal((await log.query({ types: ['deployment.*'] })).length, 3);
    assert.equal((await log.query({ types: ['check.passed', 'deployment.promoted'] })).length, 2);
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
    await log.append({ type: 'x.one', actor: 'a', subject: 's' });
    off();
    await log.append({ type: 'x.two', actor: 'a', subject: 's' });
    assert.deepEqual(seen, ['x.one']);
    await log.close();
  });

  test(`${name}: returned events are copies, the log cannot be changed through them`, async () => {
    const { log } = await open();
    await log.append({ type: 't', actor: 'a', subject: 's', data: { n: 1 } });
    const [e] = await log.query();
    (e!.data as { n: number }).n = 2;
    assert.deepEqual((await log.query())[0]!.data, { n: 1 });
    await log.close();
  });

  test(`${name}: what was appended is there after reopening`, async () => {
    const { log, reopen } = await open();
    if (!reopen) return; // in-memory fake: nothing survives by design
    await log.append({ type: 'deployment.started', actor: 'a', subject: 'deployment/d1', data: { env: 'staging' } });
    await log.close();
    const again = await reopen();
    const events = await again.query();
    assert.equal(events.length, 1);
    assert.deepEqual(events[0]!.data, { env: 'staging' });
    await again.close();
  });

  test(`${name}: every event carries a hash over its content chained to the previous event's`, async () => {
    const { log } = await open();
    await log.append({ type: 'release.registered', actor: 'cli', subject: 'release/web@1.0.0', data: { b: 1, a: [1, { z: 2, y: 3 }] } });
    await log.appendAll([
      { type: 'deployment.started', actor: 'user:ann', subject: 'deployment/d1' },
      { type: 'gate.overridden', actor: 'user:ann', subject: 'deployment/d1', data: { reason: 'hotfix' } },
    ]);
    const all = await log.query();
    assert.equal(all[0]!.prevHash, GENESIS_HASH);
    for (let i = 0; i < all.length; i++) {
      const e = all[i]!;
      assert.match(e.hash ?? '', /^[0-9a-f]{64}$/);
      if (i > 0) assert.equal(e.prevHash, all[i - 1]!.hash);
      assert.equal(chainHash(e.prevHash!, e), e.hash, 'the hash is recomputable from what the store gives back');
    }
    const v = await verifyChain(log);
    assert.deepEqual({ ok: v.ok, checked: v.checked, head: v.head }, { ok: true, checked: 3, head: { seq: all[2]!.seq, hash: all[2]!.hash } });
    await log.close();
  });

  test(`${name}: an appendAll that fails half-way appends nothing`, async () => {
    const { log } = await open();
    await log.append({ type: 'before', actor: 'a', subject: 's' });
    const seen: string[] = [];
    log.subscribe((e) => seen.push(e.type));
    const before = await log.lastSeq();
    await assert.rejects(log.appendAll([
      { type: 'ok.one', actor: 'a', subject: 's' },
      { type: 'ok.two', actor: 'a', subject: 's' },
      { type: null as unknown as string, actor: 'a', subject: 's' }, // refused by the store
      { type: 'ok.three', actor: 'a', subject: 's' },
    ]));
    assert.equal(await log.lastSeq(), before);
    assert.deepEqual((await log.query()).map((e) => e.type), ['before']);
    const after = await log.append({ type: 'after', actor: 'a', subject: 's' });
    assert.ok(after.seq > before);
    assert.deepEqual(seen, ['after']);
    await log.close();
  });

  test(`${name}: a large log is read in pages, in order, nothing missed`, async () => {
    const { log } = await open();
    const total = 12_000;
    for (let i = 0; i < total; i += 1000) {
      await log.appendAll(Array.from({ length: 1000 }, (_, j) => ({ type: 'bulk.item', actor: 'a', subject: 'bulk', data: { n: i + j } })));
    }
    let count = 0;
    let pagesRead = 0;
    let lastSeq = 0;
    for await (const page of pages(log, { types: ['bulk.*'] }, 500)) {
      pagesRead++;
      assert.ok(page.length <= 500);
      for (const e of page) {
        assert.ok(e.seq > lastSeq);
        assert.equal((e.data as { n: number }).n, count);
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
    const all = await log.query({ types: ['contract.*'] });
    assert.equal(all.length, 2 * each, 'events lost or duplicated');
    assert.equal(new Set(all.map((e) => e.id)).size, all.length, 'duplicate ids');
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.seq > all[i - 1]!.seq, 'seq not increasing');
    for (const w of ['a', 'b']) {
      const mine = all.filter((e) => (e.data as { writer: string }).writer === w).map((e) => (e.data as { n: number }).n);
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
    await log.append({ type: 'mine', actor: 'a', subject: 's' });
    const seen: string[] = [];
    log.subscribe((e) => seen.push(`${e.type}:${(e.data as { n?: number }).n}`));
    await writeFromProcess(spec, 'other', 2);
    await until(() => seen.length >= 2, 20_000, 'the cross-process notification');
    assert.deepEqual(seen, ['contract.written:0', 'contract.written:1']);
    await log.close();
  });
}
