// The contract every EventLog passes (the SQLite store, the in-memory fake, and a future
// PostgreSQL store). Call it from each implementation's test file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventLog } from './log.ts';
import { chainHash, GENESIS_HASH, verifyChain } from '../audit/chain.ts';

export function eventLogContract(name: string, open: () => Promise<{ log: EventLog; reopen?: () => Promise<EventLog> }>): void {
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
}
