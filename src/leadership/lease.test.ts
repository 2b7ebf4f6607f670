// Leader election and fencing on a real PostgreSQL: one lease, a token that grows with each
// holder, and the database itself refusing the writes of a leader that lost it.
import { note } from '../events/testing.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../clock/clock.ts';
import { PostgresEventLog } from '../store/postgres/postgres-event-log.ts';
import { freshDatabase, partitionProxy, postgresMissing } from '../store/postgres/testing.ts';
import { createRouter } from '../router/router.ts';
import { inProcessAdmin } from '../rollout/testing.ts';
import { EPOCH_SPAN, TrafficControl } from '../rollout/traffic.ts';
import { Leadership } from './lease.ts';

const skip = postgresMissing();
const opts = skip ? { skip } : {};

async function node(url: string, address: string, ttlMs: number) {
  let lease: Leadership | undefined;
  const log = await PostgresEventLog.open(url, { fence: () => lease?.fence(), idleInTransactionMs: Math.floor(ttlMs / 2) });
  lease = new Leadership({ log, address, clock: systemClock, ttlMs, intervalMs: 50 });
  return { log, lease };
}

const until = async (pred: () => boolean | Promise<boolean>, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('one leader at a time; a paused leader that wakes after its lease was taken cannot write', opts, async () => {
  const url = await freshDatabase();
  const a = await node(url, 'http://a', 600);
  const b = await node(url, 'http://b', 600);
  assert.equal(await a.lease.tryAcquire(), true);
  assert.equal(await b.lease.tryAcquire(), false, 'the lease is live: the second controller stays standby');
  await a.log.append(note('leader.wrote', { actor: 'a', subject: 's' }));
  // a standby has no token: the database refuses its writes while someone leads
  await assert.rejects(b.log.append(note('standby.wrote', { actor: 'b', subject: 's' })), (e: Error & { code?: string }) => e.code === 'FENCED');
  assert.equal((await b.lease.current())?.address, 'http://a');

  // a is "paused": it stops renewing. Once its lease expired, b takes over with a higher token.
  await until(() => b.lease.tryAcquire(), 5000, 'the takeover');
  assert.ok(b.lease.token! > a.lease.token!);
  await b.log.append(note('new.leader.wrote', { actor: 'b', subject: 's' }));
  // a wakes up and writes with its old token: refused by the database, nothing appended
  await assert.rejects(a.log.append(note('old.leader.wrote', { actor: 'a', subject: 's' })), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'FENCED');
    return true;
  });
  assert.deepEqual((await b.log.query()).map((e) => (e.data as { text: string }).text), ['leader.wrote', 'new.leader.wrote']);
  assert.equal(await a.lease.renew(), false, 'and its renewal says it lost the lease');
  await a.log.close();
  await b.log.close();
});

test('a leader whose lease expired is refused even if nobody took over yet', opts, async () => {
  const url = await freshDatabase();
  const a = await node(url, 'http://a', 200);
  assert.equal(await a.lease.tryAcquire(), true);
  await new Promise((r) => setTimeout(r, 400));
  await assert.rejects(a.log.append(note('late', { actor: 'a', subject: 's' })), (e: Error & { code?: string }) => e.code === 'FENCED');
  await a.log.close();
});

test('the loop: the standby is elected after the leader stops renewing; the old leader is told it lost', opts, async () => {
  const url = await freshDatabase();
  const a = await node(url, 'http://a', 500);
  const b = await node(url, 'http://b', 500);
  const events: string[] = [];
  assert.equal(await a.lease.tryAcquire(), true);
  a.lease.start({ onElected: () => events.push('a elected'), onLost: (why) => events.push(`a lost: ${why}`) });
  b.lease.start({ onElected: () => events.push('b elected'), onLost: () => events.push('b lost') });
  await new Promise((r) => setTimeout(r, 800));
  assert.deepEqual(events, ['a elected'], 'a renews: b stays standby');
  // a pauses: its loop stops (as a SIGSTOP would); b takes over
  a.lease.stop();
  await until(() => events.includes('b elected'), 5000, 'b to be elected');
  assert.equal(b.lease.isLeader(), true);
  assert.equal(await a.lease.renew(), false);
  b.lease.stop();
  await a.log.close();
  await b.log.close();
});

test('a leader cut off from the database (packets dropped, nothing errors) gives up at its lease deadline; the standby takes over; healed, its writes are fenced', opts, async () => {
  const url = await freshDatabase();
  const proxy = await partitionProxy(url);
  const a = await node(proxy.url, 'http://a', 600);
  const b = await node(url, 'http://b', 600);
  const seen: string[] = [];
  assert.equal(await a.lease.tryAcquire(), true);
  a.lease.start({ onElected: () => seen.push('a elected'), onLost: (why) => seen.push(`a lost: ${why}`) });
  b.lease.start({ onElected: () => seen.push('b elected'), onLost: () => seen.push('b lost') });
  await a.log.append(note('before.cut', { actor: 'a', subject: 's' }));
  // a transaction of a's is open when the link goes, holding the lease row as an append's fence
  // check does: the server must end it, or b could never take the lease
  const open = await a.log.connect();
  open.on('error', () => undefined); // the server's "terminating connection" arrives once healed
  await open.query('BEGIN');
  await open.query('SELECT token FROM greenlight_lease FOR SHARE');
  proxy.cut();
  // an append in flight over the cut link: it hangs, as the renewals do
  const hung = a.log.append(note('during.cut', { actor: 'a', subject: 's' })).then(() => 'appended', (e: Error & { code?: string }) => e.code ?? String(e));
  await until(() => seen.some((s) => s.startsWith('a lost')), 5000, 'a to give up its lease');
  assert.equal(a.lease.isLeader(), false);
  await until(() => seen.includes('b elected'), 5000, 'b to take over');
  // a gave up before b could be elected: never two leaders
  assert.ok(seen.findIndex((s) => s.startsWith('a lost')) < seen.indexOf('b elected'), seen.join(', '));
  assert.match(seen.find((s) => s.startsWith('a lost'))!, /could not be renewed/);
  await b.log.append(note('new.leader', { actor: 'b', subject: 's' }));
  proxy.heal();
  // the append held during the cut reaches the database now, with a's old token: refused
  assert.equal(await hung, 'FENCED');
  assert.deepEqual((await b.log.query()).map((e) => (e.data as { text: string }).text), ['before.cut', 'new.leader']);
  b.lease.stop();
  open.release(true);
  await a.log.close();
  await b.log.close();
  await proxy.close();
});

test('routing table revisions stay monotonic across leaders, and a deposed leader\'s table is refused', async () => {
  const router = createRouter({ name: 'production' });
  const admin = inProcessAdmin(router);
  let tokenA: number | undefined = 1;
  const a = new TrafficControl(admin, { epoch: () => tokenA });
  const b = new TrafficControl(admin, { epoch: () => 2 });
  const split = (v: string) => [{ version: v, weight: 100, upstreams: ['http://127.0.0.1:9'] }];
  const t1 = await a.route(split('1.0.0'));
  assert.equal(t1.revision, EPOCH_SPAN);
  assert.equal((await a.route(split('1.0.1'))).revision, EPOCH_SPAN + 1);
  const t3 = await b.route(split('1.0.0'));
  assert.equal(t3.revision, 2 * EPOCH_SPAN, 'the new leader jumps to its band');
  // the old leader still believes it leads: the router refuses its older revision
  await assert.rejects(a.route(split('2.0.0')), /revision/);
  // and once it has seen the router's table, it knows it was deposed
  await a.current();
  await assert.rejects(a.route(split('2.0.0')), (e: Error & { code?: string }) => e.code === 'FENCED');
  assert.equal(router.table()?.versions[0]?.version, '1.0.0', 'the new leader\'s table stays in force');
  tokenA = undefined;
  await router.close?.();
});
