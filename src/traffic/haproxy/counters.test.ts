// The attribution of HAProxy's per-server counters to versions, on rows shaped as `show stat`
// prints them (the contract suite checks the same against a real HAProxy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VersionCounters } from './counters.ts';
import { parseStat } from './runtime-api.ts';

const HEADER = '# pxname,svname,econ,wredis,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,cli_abrt,qtime,ctime,rtime,status,addr\n';
const rows = (gl1: number[], gl2: number[], backend: number[]) =>
  parseStat(
    HEADER +
      `be,gl1,${gl1[0]},0,0,${gl1[1]},0,0,${gl1[2]},0,0,0,0,${gl1[3]},UP,127.0.0.1:1\n` +
      `be,gl2,${gl2[0]},0,0,${gl2[1]},0,0,${gl2[2]},0,0,0,0,${gl2[3]},UP,127.0.0.1:2\n` +
      `be,BACKEND,${backend[0]},0,0,${backend[1]},0,0,${backend[2]},0,0,0,0,1,UP,\n`,
  );

test('counts since the first read go to the version each slot served; a slot changing hands keeps what it counted before', () => {
  const c = new VersionCounters(0);
  let owner: Record<string, string> = { gl1: '1.0.0', gl2: '2.0.0' };
  const of = (s: string) => (owner[s] ? { version: owner[s]!, upstream: `http://${s}` } : undefined);
  // [econ, 2xx, 5xx, rtime]; what HAProxy counted before the provider started is not ours
  c.add(rows([0, 100, 0, 2], [0, 50, 5, 3], [0, 150, 5]), of, 1);
  assert.equal(c.snapshot({ name: 'x', now: 1, revision: 1, weights: new Map(), healthy: () => true }).versions['1.0.0']?.requests ?? 0, 0);
  c.add(rows([1, 110, 0, 2], [0, 52, 8, 40], [1, 162, 9]), of, 2);
  owner = { gl1: '2.0.0', gl2: '3.0.0' };
  c.add(rows([1, 114, 0, 2], [0, 53, 8, 40], [1, 167, 9]), of, 3);
  const s = c.snapshot({ name: 'x', now: 3, revision: 2, weights: new Map([['2.0.0', 100]]), healthy: () => true });
  assert.deepEqual(
    Object.fromEntries(Object.entries(s.versions).map(([v, x]) => [v, [x.requests, x.status['2xx'], x.status['5xx'], x.connectionErrors, x.latency.count, x.weight, x.inTable]])),
    { '1.0.0': [11, 10, 0, 1, 10, 0, false], '2.0.0': [9, 6, 3, 0, 9, 100, true], '3.0.0': [1, 1, 0, 0, 1, 0, false] },
  );
  // the backend's 16 new answers (162+9 - 150-5) are the servers' 15 plus gl1's connection error: none without a server
  assert.equal(s.noRoute, 0);
  // 2.0.0's five requests at rtime 40 land in a bucket above its earlier ones at 3
  const counts = s.versions['2.0.0']!.latency.counts;
  assert.equal(counts.filter((n) => n > 0).length, 2);
});

test('a restarted HAProxy (counters lower than before) is counted from zero, not as negative requests', () => {
  const c = new VersionCounters(0);
  const of = (s: string) => ({ version: s === 'gl1' ? 'a' : 'b', upstream: `http://${s}` });
  c.add(rows([0, 100, 0, 1], [0, 100, 0, 1], [0, 200, 0]), of, 1);
  c.add(rows([0, 3, 0, 1], [0, 2, 0, 1], [0, 5, 0]), of, 2);
  const s = c.snapshot({ name: 'x', now: 2, revision: null, weights: new Map(), healthy: () => true });
  assert.equal(s.versions.a!.requests, 3);
  assert.equal(s.versions.b!.requests, 2);
});

test('answers HAProxy gave with no server in service count as noRoute', () => {
  const c = new VersionCounters(0);
  const of = () => ({ version: 'a', upstream: 'http://x' });
  c.add(rows([0, 10, 0, 1], [0, 0, 0, 0], [0, 10, 0]), of, 1);
  c.add(rows([0, 10, 0, 1], [0, 0, 0, 0], [0, 10, 4]), of, 2);
  assert.equal(c.snapshot({ name: 'x', now: 2, revision: null, weights: new Map(), healthy: () => true }).noRoute, 4);
});
